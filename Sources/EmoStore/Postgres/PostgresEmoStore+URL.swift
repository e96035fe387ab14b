import Foundation
import PostgresNIO

extension PostgresEmoStore {
    /// Parses `postgres://user:password@host:port/database` (or `postgresql://`).
    ///
    /// User and password may be percent-encoded; the port defaults to 5432 and the database to the user
    /// name. TLS is not supported yet: `sslmode` may be absent, `disable`, `allow` or `prefer` (all connect
    /// without TLS); `require`, `verify-ca` and `verify-full` are rejected rather than silently downgraded.
    public static func configuration(url: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url),
              let scheme = components.scheme?.lowercased(),
              scheme == "postgres" || scheme == "postgresql"
        else {
            throw EmoStoreError.invalidDatabaseURL("expected postgres://user:password@host:port/database")
        }
        guard let user = components.user, !user.isEmpty else {
            throw EmoStoreError.invalidDatabaseURL("the URL names no user")
        }
        guard let host = components.host, !host.isEmpty else {
            throw EmoStoreError.invalidDatabaseURL("the URL names no host")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        let database = path.isEmpty ? user : (path.removingPercentEncoding ?? path)
        let sslMode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "allow", "prefer"].contains(sslMode) else {
            throw EmoStoreError.invalidDatabaseURL("sslmode=\(sslMode) is not supported (TLS is not implemented yet)")
        }
        return PostgresClient.Configuration(
            host: host,
            port: components.port ?? 5432,
            username: user,
            password: components.password,
            database: database,
            tls: .disable
        )
    }
}
