import Accounts
import EmoStore
import Foundation
import Node
import Testing

/// The node side of tickets, against a real SQLite store.
@Suite struct AdmissionTests {
    @Test func aViewerAdmittedWhoseStreamNeverStartsIsReleased() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("admission-\(UUID()).sqlite").path
        let store = SQLiteEmoStore(path: path, logger: quietLogger)
        defer {
            try? FileManager.default.removeItem(atPath: path)
        }
        try await store.migrate()
        _ = try await store.createUser(name: "solo", passwordHash: "x", tier: .three)
        try await store.registerNode(name: "node-1", wsURL: "ws://n/ws", sseURL: "http://n/events", capacity: 10, now: Date())
        guard case .reserved(let sessionID, _, let expiresAt) = try await store.reserveSession(
            user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10))
        else {
            Issue.record("no reservation")
            return
        }
        let signer = TokenSigner(secret: Data(testSecret.utf8))
        let token = signer.sign(
            TokenClaims(kind: .ticket, subject: "solo", tier: 3, expiresAt: Int64(expiresAt.timeIntervalSince1970),
                        sessionID: sessionID, node: "node-1"))
        let admission = TicketAdmission(node: "node-1", store: store, signer: signer, logger: quietLogger)
        let ticket = try admission.check(ticket: token)
        try await admission.admit(ticket)
        await #expect(throws: (any Error).self) { try await admission.admit(ticket) }  // single use
        #expect(try await store.reserveSession(user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10)) == .tierLimit(limit: 1))

        await admission.releaseAbandoned(olderThan: .zero)
        guard case .reserved = try await store.reserveSession(
            user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10))
        else {
            Issue.record("the abandoned viewer's slot was not released")
            return
        }
        try await store.close()
    }

    @Test func aStartedStreamIsNotReaped() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("admission-\(UUID()).sqlite").path
        let store = SQLiteEmoStore(path: path, logger: quietLogger)
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await store.migrate()
        _ = try await store.createUser(name: "solo", passwordHash: "x", tier: .three)
        try await store.registerNode(name: "node-1", wsURL: "ws://n/ws", sseURL: "http://n/events", capacity: 10, now: Date())
        guard case .reserved(let sessionID, _, let expiresAt) = try await store.reserveSession(
            user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10))
        else {
            Issue.record("no reservation")
            return
        }
        let signer = TokenSigner(secret: Data(testSecret.utf8))
        let admission = TicketAdmission(node: "node-1", store: store, signer: signer, logger: quietLogger)
        let ticket = try admission.check(
            ticket: signer.sign(
                TokenClaims(kind: .ticket, subject: "solo", tier: 3, expiresAt: Int64(expiresAt.timeIntervalSince1970),
                            sessionID: sessionID, node: "node-1")))
        try await admission.admit(ticket)
        admission.streamStarted(ticket)
        await admission.releaseAbandoned(olderThan: .zero)
        #expect(try await store.reserveSession(user: "solo", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(10)) == .tierLimit(limit: 1))
        try await store.close()
    }
}
