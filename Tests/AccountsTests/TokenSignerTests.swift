import Accounts
import Foundation
import Testing

@Suite struct TokenSignerTests {
    let signer = TokenSigner(secret: Data("a-test-secret-of-some-length".utf8))
    let future = Int64(Date().timeIntervalSince1970) + 3600

    @Test func signedTokensVerify() throws {
        let claims = TokenClaims(kind: .session, subject: "asha", tier: 2, expiresAt: future)
        let token = signer.sign(claims)
        #expect(try signer.verify(token, kind: .session) == claims)
    }

    @Test func forgedTamperedExpiredAndMisusedTokensAreRefused() throws {
        let token = signer.sign(TokenClaims(kind: .session, subject: "asha", tier: 3, expiresAt: future))
        let other = TokenSigner(secret: Data("another-secret-entirely".utf8))
        #expect(throws: TokenError.badSignature) { try other.verify(token, kind: .session) }

        // Raise the tier in the payload, keep the signature.
        let parts = token.split(separator: ".")
        var payload = try JSONSerialization.jsonObject(with: Data(base64URL: String(parts[0]))!) as! [String: Any]
        payload["tier"] = 1
        let forgedPayload = try JSONSerialization.data(withJSONObject: payload).base64URL
        #expect(throws: TokenError.badSignature) { try signer.verify(forgedPayload + "." + parts[1], kind: .session) }

        let expired = signer.sign(TokenClaims(kind: .session, subject: "asha", tier: 3, expiresAt: future - 7200))
        #expect(throws: TokenError.expired) { try signer.verify(expired, kind: .session) }

        let ticket = signer.sign(
            TokenClaims(kind: .ticket, subject: "asha", tier: 3, expiresAt: future, sessionID: "s1", node: "node-1"))
        #expect(throws: TokenError.wrongKind) { try signer.verify(ticket, kind: .session) }
        for garbage in ["", ".", "abc", "a.b.c", "!!!.???"] {
            #expect(throws: TokenError.self) { try signer.verify(garbage, kind: .session) }
        }
    }

    /// Tokens of every payload length (mod 3) and with bytes that base64 writes as `+` and `/` are the base64url of
    /// their claims and signature (as Foundation's encoding with the characters replaced), and verify; re-padded
    /// with `=` they verify too, as they always did.
    @Test func tokensAreBase64URLOfEveryLength() throws {
        for length in 1...24 {
            let claims = TokenClaims(
                kind: .ticket, subject: String(repeating: "?", count: length) + "~\u{FF}>", tier: 1, expiresAt: future,
                sessionID: "s\(length)", node: "n", channel: "main")
            let token = signer.sign(claims)
            let parts = token.split(separator: ".").map(String.init)
            #expect(parts.count == 2)
            #expect(!token.contains("+") && !token.contains("/") && !token.contains("="))
            let payload = try #require(Data(base64URL: parts[0]))
            #expect(payload.base64URL == parts[0])
            #expect(try JSONDecoder().decode(TokenClaims.self, from: payload) == claims)
            #expect(try signer.verify(token, kind: .ticket) == claims)
            let padded = parts[1] + String(repeating: "=", count: (4 - parts[1].count % 4) % 4)
            #expect(try signer.verify(parts[0] + "." + padded, kind: .ticket) == claims)
        }
    }

    @Test func passwordsAreStoredAsBcryptHashes() async throws {
        let hasher = PasswordHasher(cost: 4)
        let hash = try await hasher.hash("correct horse battery")
        #expect(hash != "correct horse battery")
        #expect(hash.hasPrefix("$2"))
        #expect(try await hasher.verify("correct horse battery", hash: hash))
        #expect(try await !hasher.verify("wrong horse battery", hash: hash))
        #expect(try await !hasher.verify("correct horse battery", hash: hasher.decoyHash))
    }

    @Test func accountRules() {
        #expect(AccountRules.isValidName("asha_01.x-y"))
        for bad in ["ab", String(repeating: "a", count: 33), "a b", "émile", "a/b"] {
            #expect(!AccountRules.isValidName(bad))
        }
        #expect(AccountRules.isValidPassword("12345678"))
        #expect(!AccountRules.isValidPassword("1234567"))
        #expect(!AccountRules.isValidPassword(String(repeating: "x", count: 73)))
    }

    @Test func theGeneratedSecretIsKeptInTheDataDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-secret-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try SigningSecret.load(configured: nil, dataDirectory: directory)
        let second = try SigningSecret.load(configured: nil, dataDirectory: directory)
        #expect(first == second)
        #expect(first.count == 64)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/signing-secret")
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
        #expect(try SigningSecret.load(configured: "configured-secret-123", dataDirectory: directory) == Data("configured-secret-123".utf8))
        #expect(throws: SigningSecret.SecretError.self) { try SigningSecret.load(configured: "short", dataDirectory: directory) }
    }
}

extension Data {
    init?(base64URL: String) {
        var text = base64URL.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        text += String(repeating: "=", count: (4 - text.count % 4) % 4)
        self.init(base64Encoded: text)
    }

    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
