import Crypto
import Foundation

/// The token-signing secret: given by configuration, or generated once and kept in the data directory
/// (`<data-dir>/signing-secret`, mode 0600) so that tokens survive restarts.
public enum SigningSecret {
    public static func load(configured: String?, dataDirectory: String) throws -> Data {
        if let configured, !configured.isEmpty {
            guard configured.utf8.count >= 16 else { throw SecretError.tooShort }
            return Data(configured.utf8)
        }
        let directory = URL(fileURLWithPath: dataDirectory, isDirectory: true)
        let file = directory.appendingPathComponent("signing-secret")
        if let existing = try? Data(contentsOf: file), existing.count >= 32 {
            return existing
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let secret = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let hex = Data(secret.map { String(format: "%02x", $0) }.joined().utf8)
        guard FileManager.default.createFile(atPath: file.path, contents: hex, attributes: [.posixPermissions: 0o600]) else {
            throw SecretError.cannotWrite(file.path)
        }
        return hex
    }

    public enum SecretError: Error, CustomStringConvertible {
        case tooShort
        case cannotWrite(String)

        public var description: String {
            switch self {
            case .tooShort: "the signing secret must be at least 16 characters"
            case .cannotWrite(let path): "cannot write the generated signing secret to \(path)"
            }
        }
    }
}
