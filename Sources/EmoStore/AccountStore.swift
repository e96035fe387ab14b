import Foundation

/// User accounts and their tiers (see ``EmoStore``).
public protocol AccountStore: Sendable {
    /// Creates a user. Throws ``EmoStoreError/nameTaken`` when the name exists.
    func createUser(name: String, passwordHash: String, tier: Tier, now: Date) async throws -> UserRecord
    func user(named name: String) async throws -> UserRecord?
    /// All users, ordered by name.
    func listUsers() async throws -> [UserRecord]
    /// Removes the user and all of their sessions. Returns `false` when there was no such user.
    func removeUser(named name: String) async throws -> Bool
    /// Returns `false` when there is no such user. Existing sessions are kept; the new limit applies to
    /// later reservations.
    func setTier(name: String, tier: Tier) async throws -> Bool
}

extension AccountStore {
    /// Creates a user stamped with the current time.
    public func createUser(name: String, passwordHash: String, tier: Tier) async throws -> UserRecord {
        try await self.createUser(name: name, passwordHash: passwordHash, tier: tier, now: Date())
    }
}
