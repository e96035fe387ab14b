import Foundation

/// A stored account. `passwordHash` is whatever the caller hashed (e.g. bcrypt); the store never sees a password.
public struct UserRecord: Sendable, Equatable, Hashable {
    public var name: String
    public var passwordHash: String
    public var tier: Tier
    /// Stored with millisecond precision.
    public var createdAt: Date

    public init(name: String, passwordHash: String, tier: Tier, createdAt: Date) {
        self.name = name
        self.passwordHash = passwordHash
        self.tier = tier
        self.createdAt = createdAt
    }
}
