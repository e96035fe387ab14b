import Foundation

/// Persistent state of accounts, cluster nodes and viewer sessions (leases).
///
/// Two implementations share these semantics: ``SQLiteEmoStore`` (one file, the embedded default) and
/// ``PostgresEmoStore`` (shared by a fleet of gateway and node processes).
///
/// Time is always passed in (`now`), so callers and tests control the clock; the store never reads it.
///
/// A session is *live* at `now` when its node is live (heartbeat within `nodeTTL`) and either
/// - it is `reserved` and its ticket has not expired (`ticketExpiresAt > now`), or
/// - it is `active` and its lease was renewed within `nodeTTL` (by activation or a node heartbeat).
///
/// Sessions that are not live never count against a tier or a node's capacity, whether or not
/// ``sweepExpired(now:nodeTTL:)`` has deleted them yet, so no path leaks a slot.
public protocol EmoStore: Sendable {
    /// Creates or upgrades the schema. Idempotent; safe to call from several processes at once.
    func migrate() async throws

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

    /// Registers (or re-registers) a node and marks it live at `now`.
    ///
    /// Call it when a node process starts: sessions previously held under this name are dropped, because a
    /// freshly started process holds no viewers. Use ``heartbeat(node:now:)`` to stay live afterwards.
    /// Throws ``EmoStoreError/invalidArgument(_:)`` for a negative capacity (0 is allowed: a node that takes no viewers).
    func registerNode(name: String, wsURL: String, sseURL: String, capacity: Int, now: Date) async throws
    /// Renews the node's liveness and the leases of its active sessions.
    /// Returns `false` when the node is not registered (the caller should register again).
    @discardableResult
    func heartbeat(node: String, now: Date) async throws -> Bool
    /// All registered nodes with their live session counts, ordered by name.
    func nodes(now: Date, nodeTTL: Duration) async throws -> [NodeStatus]

    /// In one atomic step: checks the user's tier limit against their live sessions on all nodes, picks
    /// the live node with the lowest load ratio (viewers / capacity) that still has room, and reserves a
    /// session on it whose ticket expires at `now + ticketTTL`.
    /// The session watches `channel` (see ``viewersByChannel(now:nodeTTL:)``).
    func reserveSession(
        user: String, channel: String, now: Date, ticketTTL: Duration, nodeTTL: Duration
    ) async throws -> ReservationOutcome
    /// Single use: turns a `reserved` session into an `active` one, only on the node it was placed on and
    /// only before its ticket expires. Returns `false` otherwise.
    func activateSession(id: String, node: String, now: Date) async throws -> Bool
    /// Frees the session's slot. Returns `false` when there was no such session.
    func releaseSession(id: String) async throws -> Bool
    /// Deletes sessions that are no longer live: reserved ones past their ticket expiry, active ones whose
    /// lease lapsed, and every session on a node whose heartbeat is older than `nodeTTL`.
    /// Returns the number of deleted sessions.
    func sweepExpired(now: Date, nodeTTL: Duration) async throws -> Int
    /// Live sessions (reserved with an unexpired ticket, or active with a fresh lease, on a live node) per tier.
    func sessionsByTier(now: Date, nodeTTL: Duration) async throws -> [Tier: Int]
    /// Moves a session to another channel (a viewer switched). Returns `false` when there is no such session.
    @discardableResult
    func setSessionChannel(id: String, channel: String) async throws -> Bool
    /// Live sessions (as in ``sessionsByTier(now:nodeTTL:)``) per channel; channels without viewers are absent.
    func viewersByChannel(now: Date, nodeTTL: Duration) async throws -> [String: Int]

    /// Registers a channel (`emostream channels add`). Returns `false` when it was registered already.
    @discardableResult
    func addChannel(name: String, now: Date) async throws -> Bool
    /// Registers every name not registered yet, in one step (channels created on first use). Idempotent.
    func ensureChannels(_ names: [String], now: Date) async throws
    func channel(named name: String) async throws -> ChannelRecord?
    /// All registered channels, ordered by name.
    func listChannels() async throws -> [ChannelRecord]
    /// Unregisters a channel (its viewers keep watching). Returns `false` when there was no such channel.
    func removeChannel(named name: String) async throws -> Bool
}

extension EmoStore {
    /// Creates a user stamped with the current time.
    public func createUser(name: String, passwordHash: String, tier: Tier) async throws -> UserRecord {
        try await self.createUser(name: name, passwordHash: passwordHash, tier: tier, now: Date())
    }

    /// Reserves a session watching the default channel, `main`.
    public func reserveSession(user: String, now: Date, ticketTTL: Duration, nodeTTL: Duration) async throws -> ReservationOutcome {
        try await self.reserveSession(user: user, channel: "main", now: now, ticketTTL: ticketTTL, nodeTTL: nodeTTL)
    }
}
