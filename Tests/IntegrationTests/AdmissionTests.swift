import Accounts
import EmoStore
import Foundation
import Node
import Testing

/// The node side of tickets, against a real SQLite store.
@Suite struct AdmissionTests {
    /// A store with one tier-3 user holding one reserved session on node-1, and that session's checked ticket.
    struct Fixture {
        let store: SQLiteEmoStore
        let path: String
        let admission: TicketAdmission
        let ticket: AdmissionTicket

        static func make() async throws -> Fixture {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("admission-\(UUID()).sqlite").path
            let store = SQLiteEmoStore(path: path, logger: quietLogger)
            try await store.migrate()
            _ = try await store.createUser(name: "solo", passwordHash: "x", tier: .three)
            try await store.registerNode(name: "node-1", wsURL: "ws://n/ws", sseURL: "http://n/events", capacity: 10, now: Date())
            guard case .reserved(let sessionID, _, let expiresAt) = try await store.reserveSession(
                user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10))
            else { throw FixtureError() }
            let signer = TokenSigner(secret: Data(testSecret.utf8))
            let admission = TicketAdmission(node: "node-1", store: store, signer: signer, logger: quietLogger)
            let ticket = try admission.check(
                ticket: signer.sign(
                    TokenClaims(
                        kind: .ticket, subject: "solo", tier: 3, expiresAt: Int64(expiresAt.timeIntervalSince1970),
                        sessionID: sessionID, node: "node-1")))
            return Fixture(store: store, path: path, admission: admission, ticket: ticket)
        }

        /// The outcome of another reservation for the same user.
        func reserveAgain() async throws -> ReservationOutcome {
            try await store.reserveSession(user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10))
        }

        func close() async throws {
            try await store.close()
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    struct FixtureError: Error {}

    @Test func aViewerAdmittedWhoseStreamNeverStartsIsReleased() async throws {
        let fixture = try await Fixture.make()
        try await fixture.admission.admit(fixture.ticket)
        await #expect(throws: (any Error).self) { try await fixture.admission.admit(fixture.ticket) }  // single use
        #expect(try await fixture.reserveAgain() == .tierLimit(limit: 1))

        await fixture.admission.releaseAbandoned(olderThan: .zero)
        guard case .reserved = try await fixture.reserveAgain() else {
            Issue.record("the abandoned viewer's slot was not released")
            return
        }
        try await fixture.close()
    }

    @Test func aStartedStreamIsNotReaped() async throws {
        let fixture = try await Fixture.make()
        try await fixture.admission.admit(fixture.ticket)
        fixture.admission.streamStarted(fixture.ticket)
        await fixture.admission.releaseAbandoned(olderThan: .zero)
        #expect(try await fixture.reserveAgain() == .tierLimit(limit: 1))
        try await fixture.close()
    }
}
