import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// TLS of a listener (`--tls-cert`, `--tls-key`): a PEM certificate chain and its PEM private key, read once at
/// start-up so that a wrong path or a key that does not match fails the process before it listens.
public struct TLSSettings: Sendable {
    public let certificatePath: String
    public let privateKeyPath: String
    public let configuration: TLSConfiguration

    public init(certificatePath: String, privateKeyPath: String) throws {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        let chain = try NIOSSLCertificate.fromPEMFile(certificatePath)
        guard !chain.isEmpty else { throw TLSSettingsError.noCertificate(certificatePath) }
        let key = try NIOSSLPrivateKey(file: privateKeyPath, format: .pem)
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        // HTTP/1.1 only: the servers speak HTTP/1 (and WebSocket upgrades over it).
        configuration.applicationProtocols = ["http/1.1"]
        // Fails here, not on the first connection, when the key does not belong to the certificate.
        _ = try NIOSSLContext(configuration: configuration)
        self.configuration = configuration
    }

    public enum TLSSettingsError: Error, CustomStringConvertible {
        case noCertificate(String)

        public var description: String {
            switch self {
            case .noCertificate(let path): "no PEM certificate in \(path)"
            }
        }
    }
}

extension HTTPServerBuilder {
    /// `base`, behind TLS when `tls` is given.
    public static func emostream(_ base: HTTPServerBuilder = .http1(), tls: TLSSettings?) -> HTTPServerBuilder {
        guard let tls else { return base }
        do {
            return try .tls(base, tlsConfiguration: tls.configuration)
        } catch {
            // `.tls` only captures the configuration here; the TLS handler is built per connection.
            preconditionFailure("HTTPServerBuilder.tls cannot fail before a connection: \(error)")
        }
    }
}

extension Optional where Wrapped == TLSSettings {
    /// `https` with TLS, else `http` (and `wss`/`ws` for WebSocket URLs).
    public var httpScheme: String { self == nil ? "http" : "https" }
    public var webSocketScheme: String { self == nil ? "ws" : "wss" }
}
