import EmoTestSupport
import Accounts
import EmoStore
import Foundation
import Hummingbird
import HummingbirdTesting
import Metrics
import NIOCore
import Node
import Prometheus
import Testing

/// The HTTP routes of `NodeServer.buildApplication`, tested through its router with a real SQLite store behind
/// the ticket admission.
@Suite struct NodeServerTests {
    func withNode<T: Sendable>(
        _ test: @escaping @Sendable (any TestClientProtocol, BurstHub, SQLiteEmoStore) async throws -> T
    ) async throws -> T {
        try await withSQLiteStore { store in
            let hub = BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance)
            let admission = TicketAdmission(node: "n1", store: store, signer: testSigner, logger: quietLogger)
            let app = NodeServer.buildApplication(
                configuration: .init(name: "n1", port: 0), hub: hub, admission: admission,
                registry: PrometheusCollectorRegistry(), logger: quietLogger)
            return try await app.test(.router) { client in try await test(client, hub, store) }
        }
    }

    func json(_ response: TestResponse) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
        return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: response.body))")
    }

    @Test func healthzReportsTheNodeAndItsViewers() async throws {
        try await withNode { client, hub, _ in
            let viewer = hub.subscribe(channel: "main", after: nil)
            defer { viewer.cancel() }
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["status"] as? String == "ok")
            #expect(body["node"] as? String == "n1")
            #expect(body["viewers"] as? Int == 1)
        }
    }

    struct BadTicket: Sendable, CustomTestStringConvertible {
        var name: String
        var query: String
        var code: String
        var testDescription: String { name }
    }

    static let badTickets: [BadTicket] = [
        BadTicket(name: "no ticket", query: "", code: "missing_ticket"),
        BadTicket(name: "an empty ticket", query: "?ticket=", code: "missing_ticket"),
        BadTicket(name: "not a token", query: "?ticket=garbage", code: "invalid_ticket"),
        BadTicket(
            name: "signed with another secret",
            query: "?ticket=" + ticket(node: "n1", signer: TokenSigner(secret: Array("another-secret-0123456789".utf8))),
            code: "invalid_ticket"),
        BadTicket(name: "for another node", query: "?ticket=" + ticket(node: "n2"), code: "wrong_node"),
        BadTicket(name: "expired", query: "?ticket=" + ticket(node: "n1", expiresIn: -60), code: "ticket_expired"),
    ]

    @Test(arguments: ["/events", "/ws"], badTickets)
    func aViewerWithoutAValidTicketGets401(path: String, bad: BadTicket) async throws {
        try await withNode { client, hub, _ in
            let response = try await client.execute(uri: path + bad.query, method: .get)
            #expect(response.status == .unauthorized)
            #expect(response.headers[.contentType] == "application/json")
            #expect(try json(response)["error"] as? String == bad.code)
            #expect(hub.viewerCount == 0)
        }
    }

    @Test func aTicketWhoseSessionWasNotReservedIsRefused() async throws {
        // Correctly signed for this node, but the store holds no such reserved session (or it was used).
        try await withNode { client, hub, _ in
            let response = try await client.execute(uri: "/events?ticket=" + ticket(session: "no-such-session", node: "n1"), method: .get)
            #expect(response.status == .unauthorized)
            #expect(try json(response)["error"] as? String == "ticket_used")
            #expect(hub.viewerCount == 0)
        }
    }

    @Test func aPlainGetOfTheWebSocketEndpointGets426() async throws {
        try await withNode { client, _, _ in
            let response = try await client.execute(uri: "/ws?ticket=" + ticket(node: "n1"), method: .get)
            #expect(response.status == .upgradeRequired)
            #expect(response.headers[.upgrade] == "websocket")
            #expect(try json(response)["error"] as? String == "upgrade_required")
        }
    }

    @Test(arguments: [("?channel=Not%20Valid", "invalid_channel"), ("?after=abc", "invalid_after")])
    func badViewerParametersGet400(query: String, code: String) async throws {
        try await withNode { client, _, _ in
            let response = try await client.execute(uri: "/events" + query + "&ticket=" + ticket(node: "n1"), method: .get)
            #expect(response.status == .badRequest)
            #expect(try json(response)["error"] as? String == code)
        }
    }
}
