import Accounts
import EmoHTTP
import EmoStore
import Foundation
import Logging
import Synchronization

/// A viewer's ticket, checked (signature, node, expiry) but not yet used.
public struct AdmissionTicket: Sendable {
    public let sessionID: String
    public let user: String
    public let channel: String?
}

/// Who may watch on a node: a viewer presents the single-use ticket from `POST /api/connect`; the node binds it
/// to the reserved session on connect and releases the slot when the viewer leaves.
public protocol ViewerAdmission: Sendable {
    /// Checks the ticket without using it (before a WebSocket upgrade). Throws a 401 `APIError`.
    func check(ticket: String?) throws -> AdmissionTicket
    /// Uses the ticket: only once, only before it expires, only on the node it was issued for.
    func admit(_ ticket: AdmissionTicket) async throws
    /// Frees the viewer's slot.
    func release(_ ticket: AdmissionTicket) async
    /// The admitted viewer's stream has started: from now on the stream releases the slot when it ends.
    func streamStarted(_ ticket: AdmissionTicket)
    /// Releases slots admitted more than `age` ago whose stream never started (e.g. an SSE client that vanished
    /// before the response head could be written), so that no path leaks a slot.
    func releaseAbandoned(olderThan age: Duration) async
    /// Whether a viewer may watch (switch to) `channel`: false for an unknown channel when channels are closed.
    func allows(channel: String) async throws -> Bool
    /// The viewer switched to `channel` (recorded with its session, for the viewers-per-channel figures).
    func switched(_ ticket: AdmissionTicket, to channel: String) async
}

extension ViewerAdmission {
    public func allows(channel: String) async throws -> Bool { true }
    public func switched(_ ticket: AdmissionTicket, to channel: String) async {}
}

/// Admission backed by the store's sessions and the shared token secret.
public struct TicketAdmission: ViewerAdmission {
    let node: String
    let store: any PlacementStore
    let signer: TokenSigner
    let logger: Logger
    let channels: ChannelRegistry?
    /// Admitted sessions whose stream has not started yet, with the time of admission.
    private let pending = PendingAdmissions()

    public init(node: String, store: any PlacementStore, signer: TokenSigner, logger: Logger, channels: ChannelRegistry? = nil) {
        self.node = node
        self.channels = channels
        self.store = store
        self.signer = signer
        self.logger = logger
    }

    public func check(ticket: String?) throws -> AdmissionTicket {
        guard let ticket, !ticket.isEmpty else {
            throw APIError(.unauthorized, "missing_ticket", "connect with the ticket from POST /api/connect (?ticket=...)")
        }
        let claims: TokenClaims
        do {
            claims = try signer.verify(ticket, kind: .ticket)
        } catch .expired {
            throw APIError(.unauthorized, "ticket_expired", "the ticket has expired; ask POST /api/connect for a new one")
        } catch {
            throw APIError(.unauthorized, "invalid_ticket", "the ticket is not valid")
        }
        guard let sessionID = claims.sessionID, claims.node == node else {
            throw APIError(.unauthorized, "wrong_node", "the ticket is for another node")
        }
        return AdmissionTicket(sessionID: sessionID, user: claims.subject, channel: claims.channel)
    }

    public func admit(_ ticket: AdmissionTicket) async throws {
        guard try await store.activateSession(id: ticket.sessionID, node: node, now: Date()) else {
            throw APIError(.unauthorized, "ticket_used", "the ticket was already used or has expired")
        }
        pending.add(ticket)
    }

    public func streamStarted(_ ticket: AdmissionTicket) {
        pending.remove(ticket.sessionID)
    }

    public func releaseAbandoned(olderThan age: Duration) async {
        for ticket in pending.takeOlder(than: age) {
            logger.info("releasing a viewer whose stream never started", metadata: ["session": "\(ticket.sessionID)"])
            await release(ticket)
        }
    }

    public func allows(channel: String) async throws -> Bool {
        try await channels?.allows(channel) ?? true
    }

    public func switched(_ ticket: AdmissionTicket, to channel: String) async {
        do {
            try await store.setSessionChannel(id: ticket.sessionID, channel: channel)
        } catch {
            logger.warning("could not record a channel switch", metadata: ["session": "\(ticket.sessionID)", "error": "\(error)"])
        }
    }

    public func release(_ ticket: AdmissionTicket) async {
        pending.remove(ticket.sessionID)
        do {
            _ = try await store.releaseSession(id: ticket.sessionID)
        } catch {
            // The session keeps its slot until this node stops heartbeating or registers again.
            logger.warning("could not release a viewer session", metadata: ["session": "\(ticket.sessionID)", "error": "\(error)"])
        }
    }
}

final class PendingAdmissions: Sendable {
    private let entries = Mutex<[String: (ticket: AdmissionTicket, since: ContinuousClock.Instant)]>([:])

    func add(_ ticket: AdmissionTicket) {
        entries.withLock { $0[ticket.sessionID] = (ticket, .now) }
    }

    func remove(_ sessionID: String) {
        _ = entries.withLock { $0.removeValue(forKey: sessionID) }
    }

    func takeOlder(than age: Duration) -> [AdmissionTicket] {
        let cutoff = ContinuousClock.now - age
        return entries.withLock { entries in
            let old = entries.filter { $0.value.since < cutoff }
            for key in old.keys { entries[key] = nil }
            return old.values.map(\.ticket)
        }
    }
}
