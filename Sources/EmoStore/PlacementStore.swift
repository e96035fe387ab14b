import Foundation

/// The node registry and viewer sessions: where viewers are placed and what they hold (see ``EmoStore``).
///
/// A session is *live* at `now` when its node is live (heartbeat within `nodeTTL`) and either
/// - it is `reserved` and its ticket has not expired (`ticketExpiresAt > now`), or
/// - it is `active` (its node holds the viewer's stream; the node releases it when the stream ends, and a node that
///   dies, is found unreachable or registers again takes all its sessions with it).
///
/// Sessions that are not live never count against a tier or a node's capacity, whether or not
/// ``sweepExpired(now:nodeTTL:)`` has deleted them yet, so no path leaks a slot.
public protocol PlacementStore: Sendable {
    /// Registers (or re-registers) a node and marks it live at `now`.
    ///
    /// Call it when a node process starts: sessions previously held under this name are dropped, because a
    /// freshly started process holds no viewers. Use ``heartbeat(node:now:)`` to stay live afterwards.
    /// Throws ``EmoStoreError/invalidArgument(_:)`` for a negative capacity (0 is allowed: a node that takes no viewers).
    func registerNode(name: String, wsURL: String, sseURL: String, capacity: Int, now: Date) async throws
    /// Renews the node's liveness, and with it that of its active sessions (one row, however many viewers it holds).
    /// Returns `false` when the node is not registered (the caller should register again).
    @discardableResult
    func heartbeat(node: String, now: Date) async throws -> Bool
    /// Marks the node dead now, as if its heartbeat had lapsed: it gets no viewers and its sessions stop counting
    /// against their users' tier limits at once (the sweeper then frees them). Its next heartbeat makes it live
    /// again. For a gateway that found the node unreachable. Returns `false` for an unknown node.
    @discardableResult
    func markNodeUnreachable(node: String) async throws -> Bool
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
    /// Deletes sessions that are no longer live: reserved ones past their ticket expiry, and every session on a node
    /// whose heartbeat is older than `nodeTTL`.
    /// Returns the number of deleted sessions.
    func sweepExpired(now: Date, nodeTTL: Duration) async throws -> Int
    /// Live sessions (reserved with an unexpired ticket, or active, on a live node) per tier.
    func sessionsByTier(now: Date, nodeTTL: Duration) async throws -> [Tier: Int]
    /// Moves a session to another channel (a viewer switched). Returns `false` when there is no such session.
    @discardableResult
    func setSessionChannel(id: String, channel: String) async throws -> Bool
    /// Live sessions (as in ``sessionsByTier(now:nodeTTL:)``) per channel; channels without viewers are absent.
    func viewersByChannel(now: Date, nodeTTL: Duration) async throws -> [String: Int]
}

extension PlacementStore {
    /// Reserves a session watching the default channel, `main`.
    public func reserveSession(user: String, now: Date, ticketTTL: Duration, nodeTTL: Duration) async throws -> ReservationOutcome {
        try await self.reserveSession(user: user, channel: "main", now: now, ticketTTL: ticketTTL, nodeTTL: nodeTTL)
    }
}
