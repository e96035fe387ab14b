import Foundation

/// The result of ``PlacementStore/reserveSession(user:now:ticketTTL:nodeTTL:)``.
public enum ReservationOutcome: Sendable, Equatable {
    /// A slot was reserved; `sessionID` is the single-use ticket. `node.viewers` includes the new session.
    case reserved(sessionID: String, node: NodeStatus, ticketExpiresAt: Date)
    /// The user already holds `limit` live sessions.
    case tierLimit(limit: Int)
    /// Every live node is full (or no node is live).
    case noCapacity
    /// No user of that name.
    case unknownUser
}
