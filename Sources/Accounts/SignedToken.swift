import Crypto
import Foundation

/// What a signed token says. Session tokens (`kind == .session`) come from `POST /api/login`; tickets
/// (`kind == .ticket`) from `POST /api/connect`, bound to one session on one node.
public struct TokenClaims: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable {
        case session
        case ticket
        /// The operator of the admin page.
        case `operator`
    }

    public var kind: Kind
    /// The user name.
    public var subject: String
    public var tier: Int
    /// Seconds since the epoch.
    public var expiresAt: Int64
    /// Tickets: the reserved session and the node it is for.
    public var sessionID: String?
    public var node: String?
    public var channel: String?

    public init(
        kind: Kind, subject: String, tier: Int, expiresAt: Int64, sessionID: String? = nil, node: String? = nil,
        channel: String? = nil
    ) {
        self.kind = kind
        self.subject = subject
        self.tier = tier
        self.expiresAt = expiresAt
        self.sessionID = sessionID
        self.node = node
        self.channel = channel
    }

    enum CodingKeys: String, CodingKey {
        case kind = "k"
        case subject = "sub"
        case tier = "tier"
        case expiresAt = "exp"
        case sessionID = "sid"
        case node = "node"
        case channel = "ch"
    }
}

public enum TokenError: Error, Equatable, Sendable {
    case malformed
    case badSignature
    case expired
    case wrongKind
}

/// Signs and verifies compact tokens: `base64url(claims JSON) "." base64url(HMAC-SHA256(secret, claims part))`.
public struct TokenSigner: Sendable {
    let secret: [UInt8]

    public init(secret: some DataProtocol) {
        self.secret = Array(secret)
    }

    var key: SymmetricKey { SymmetricKey(data: secret) }

    public func sign(_ claims: TokenClaims) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        // Encoding strings and integers cannot fail.
        let payload = Self.base64URL((try? encoder.encode(claims)) ?? Data())
        let signature = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: key)
        return payload + "." + Self.base64URL(Data(signature))
    }

    public func verify(_ token: String, kind: TokenClaims.Kind, now: Date = Date()) throws(TokenError) -> TokenClaims {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, let signature = Self.decodeBase64URL(String(parts[1])),
            let payload = Self.decodeBase64URL(String(parts[0]))
        else { throw .malformed }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data(parts[0].utf8), using: key) else {
            throw .badSignature
        }
        guard let claims = try? JSONDecoder().decode(TokenClaims.self, from: payload) else { throw .malformed }
        guard claims.kind == kind else { throw .wrongKind }
        guard Double(claims.expiresAt) > now.timeIntervalSince1970 else { throw .expired }
        return claims
    }

    /// Base64url without padding, byte by byte (Foundation's `replacingOccurrences` goes through NSString: it was a
    /// visible part of every connect's CPU).
    static func base64URL(_ data: Data) -> String {
        let standard = data.base64EncodedData()
        var bytes = [UInt8]()
        bytes.reserveCapacity(standard.count)
        for byte in standard {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): bytes.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func decodeBase64URL(_ text: String) -> Data? {
        guard text.utf8.count <= 4096 else { return nil }
        var bytes = [UInt8]()
        bytes.reserveCapacity(text.utf8.count + 3)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "-"): bytes.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "/"))
            default: bytes.append(byte)
            }
        }
        bytes.append(contentsOf: repeatElement(UInt8(ascii: "="), count: (4 - bytes.count % 4) % 4))
        return Data(base64Encoded: Data(bytes))
    }
}
