import EmoTestSupport
import Accounts
import EmoStore
import Foundation
import Gateway
import HummingbirdTesting
import Testing

/// Accounts, placement and health of an `APIGateway` over a real SQLite store and token signer.
@Suite struct APIGatewayTests {
    @Test func registerThenLoginGivesASessionToken() async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                let registered = try await post(
                    client, "/api/register", json: #"{"name":"asha","password":"correct horse","tier":2}"#)
                #expect(registered.status == .created)
                let account = try json(registered)
                #expect(account["name"] as? String == "asha")
                #expect(account["tier"] as? Int == 2)
                #expect(account["max_devices"] as? Int == 2)

                let again = try await post(client, "/api/register", json: #"{"name":"asha","password":"another one","tier":1}"#)
                #expect(again.status == .conflict)
                #expect(try json(again)["error"] as? String == "name_taken")

                let login = try await post(client, "/api/login", json: #"{"name":"asha","password":"correct horse"}"#)
                #expect(login.status == .ok)
                let token = try #require(try json(login)["token"] as? String)
                let claims = try testSigner.verify(token, kind: .session)
                #expect(claims.subject == "asha")
                #expect(claims.tier == 2)
            }
        }
    }

    @Test(arguments: [#"{"name":"asha","password":"wrong horse"}"#, #"{"name":"nobody","password":"correct horse"}"#])
    func aWrongPasswordOrUnknownNameGets401(credentials: String) async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                _ = try await registerAndLogin(client, "asha")
                let login = try await post(client, "/api/login", json: credentials)
                #expect(login.status == .unauthorized)
                let body = try json(login)
                #expect(body["error"] as? String == "invalid_credentials")
                #expect(body["token"] == nil)
            }
        }
    }

    @Test func connectWithoutALiveNodeGets503NoCapacity() async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                let token = try await registerAndLogin(client, "asha")
                let response = try await post(client, "/api/connect", bearer: token)
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] != nil)
                #expect(try json(response)["error"] as? String == "no_capacity")
            }
        }
    }

    @Test func connectPlacesTheViewerOnALiveNodeWithASignedTicket() async throws {
        try await withSQLiteStore { store in
            try await store.registerNode(
                name: "n1", wsURL: "ws://n1.test:9001/ws", sseURL: "http://n1.test:9001/events", capacity: 10, now: Date())
            try await withGateway(store: store) { client, _ in
                let token = try await registerAndLogin(client, "asha")
                let response = try await post(client, "/api/connect", bearer: token)
                #expect(response.status == .ok)
                let body = try json(response)
                let ticket = try #require(body["ticket"] as? String)
                #expect(body["node"] as? String == "n1")
                #expect(body["channel"] as? String == "main")
                #expect(body["ws_url"] as? String == "ws://n1.test:9001/ws?ticket=\(ticket)")
                #expect(body["sse_url"] as? String == "http://n1.test:9001/events?ticket=\(ticket)")
                // The node checks exactly this: a ticket for it, bound to a session reserved in the store.
                let claims = try testSigner.verify(ticket, kind: .ticket)
                #expect(claims.subject == "asha")
                #expect(claims.node == "n1")
                #expect(claims.channel == "main")
                let session = try #require(claims.sessionID)
                #expect(try await store.activateSession(id: session, node: "n1", now: Date()))

                let cricket = try await post(client, "/api/connect", json: #"{"channel":"cricket"}"#, bearer: token)
                #expect(cricket.status == .ok)
                let cricketBody = try json(cricket)
                #expect(cricketBody["channel"] as? String == "cricket")
                #expect((cricketBody["sse_url"] as? String)?.hasSuffix("&channel=cricket") == true)
            }
        }
    }

    @Test func aTierAllowsItsNumberOfDevices() async throws {
        try await withSQLiteStore { store in
            try await store.registerNode(
                name: "n1", wsURL: "ws://n1.test/ws", sseURL: "http://n1.test/events", capacity: 10, now: Date())
            try await withGateway(store: store) { client, _ in
                let token = try await registerAndLogin(client, "solo", tier: 3)
                #expect(try await post(client, "/api/connect", bearer: token).status == .ok)
                let second = try await post(client, "/api/connect", bearer: token)
                #expect(second.status == .tooManyRequests)
                let body = try json(second)
                #expect(body["error"] as? String == "tier_limit")
                #expect(body["limit"] as? Int == 1)
            }
        }
    }

    @Test(arguments: [(nil, "missing_token"), ("garbage", "invalid_token")] as [(String?, String)])
    func connectWithoutAValidTokenGets401(token: String?, code: String) async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                let response = try await post(client, "/api/connect", bearer: token)
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == "Bearer")
                #expect(try json(response)["error"] as? String == code)
            }
        }
    }

    @Test func healthzCountsLiveNodes() async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                let before = try await client.execute(uri: "/healthz", method: .get)
                #expect(before.status == .ok)
                #expect(try json(before)["live_nodes"] as? Int == 0)

                try await store.registerNode(
                    name: "n1", wsURL: "ws://n1.test/ws", sseURL: "http://n1.test/events", capacity: 10, now: Date())
                // Silent for longer than the node TTL: not live.
                try await store.registerNode(
                    name: "n2", wsURL: "ws://n2.test/ws", sseURL: "http://n2.test/events", capacity: 10,
                    now: Date().addingTimeInterval(-3600))
                let after = try await client.execute(uri: "/healthz", method: .get)
                #expect(try json(after)["status"] as? String == "ok")
                #expect(try json(after)["live_nodes"] as? Int == 1)
            }
        }
    }
}
