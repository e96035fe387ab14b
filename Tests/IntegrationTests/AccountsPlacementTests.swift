import Accounts
import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing

@Suite(.serialized) struct AccountsPlacementTests {
    @Test func registerLoginAndTheirErrors() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let api = endpoints.api
            let created = try await request(.POST, api + "/api/register", body: #"{"name":"asha","password":"correct horse","tier":2}"#)
            #expect(created.status == 201)
            #expect(created.json["name"] as? String == "asha")
            #expect(created.json["max_devices"] as? String == "2")
            let taken = try await request(.POST, api + "/api/register", body: #"{"name":"asha","password":"another pass","tier":1}"#)
            #expect(taken.status == 409)
            #expect(taken.json["error"] as? String == "name_taken")
            for (body, code) in [
                (#"{"name":"as","password":"correct horse","tier":1}"#, "invalid_name"),
                (#"{"name":"a sha","password":"correct horse","tier":1}"#, "invalid_name"),
                (#"{"name":"bilal","password":"short","tier":1}"#, "invalid_password"),
                (#"{"name":"bilal","password":"correct horse","tier":4}"#, "invalid_tier"),
                (#"{"name":"bilal","password":"correct horse"}"#, "missing_field"),
                (#"{"name":"bilal","password":12345678,"tier":1}"#, "invalid_field"),
                ("not json", "invalid_json"),
            ] {
                let result = try await request(.POST, api + "/api/register", body: body)
                #expect(result.status == 400, "\(body): \(result.text)")
                #expect(result.json["error"] as? String == code, "\(body): \(result.text)")
            }

            let login = try await request(.POST, api + "/api/login", body: #"{"name":"asha","password":"correct horse"}"#)
            #expect(login.status == 200)
            #expect(login.json["tier"] as? String == "2")
            #expect((login.json["token"] as? String)?.isEmpty == false)
            let wrong = try await request(.POST, api + "/api/login", body: #"{"name":"asha","password":"wrong horse"}"#)
            let unknown = try await request(.POST, api + "/api/login", body: #"{"name":"nobody","password":"wrong horse"}"#)
            #expect(wrong.status == 401 && unknown.status == 401)
            #expect(wrong.text == unknown.text)
            #expect(wrong.json["error"] as? String == "invalid_credentials")
        }
    }

    @Test func connectRefusesMissingForgedAndExpiredTokens() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api)
            let signer = TokenSigner(secret: Data(testSecret.utf8))
            let expired = signer.sign(
                TokenClaims(kind: .session, subject: account.name, tier: 1, expiresAt: Int64(Date().timeIntervalSince1970) - 1))
            let forged = TokenSigner(secret: Data("not-the-servers-secret".utf8)).sign(
                TokenClaims(kind: .session, subject: account.name, tier: 1, expiresAt: Int64(Date().timeIntervalSince1970) + 60))
            for (token, code) in [(nil, "missing_token"), ("garbage", "invalid_token"), (expired, "token_expired"), (forged, "invalid_token")] {
                let result = try await request(.POST, endpoints.api + "/api/connect", contentType: nil, bearer: token)
                #expect(result.status == 401, "\(code): \(result.text)")
                #expect(result.json["error"] as? String == code)
            }
            #expect(try await account.connect().status == 200)
        }
    }

    @Test(arguments: [(1, 5), (2, 2), (3, 1)])
    func parallelConnectsAdmitExactlyTheTierLimit(tier: Int, limit: Int) async throws {
        try await withSystem(nodes: 3) { endpoints in
            let account = try await Account.make(endpoints.api, tier: tier)
            let statuses = try await withThrowingTaskGroup(of: HTTPResult.self) { group in
                for _ in 0..<50 { group.addTask { try await account.connect() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0.status == 200 }.count == limit)
            let refused = statuses.filter { $0.status == 429 }
            #expect(refused.count == 50 - limit)
            #expect(refused.allSatisfy { $0.json["error"] as? String == "tier_limit" && $0.json["limit"] as? String == "\(limit)" })
        }
    }

    @Test func closingAViewerFreesExactlyOneSlot() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let account = try await Account.make(endpoints.api, tier: 2)
            let (first, firstTask) = connectWebSocket(try await account.place().wsURL)
            let (second, secondTask) = connectWebSocket(try await account.place().wsURL)
            defer { secondTask.cancel() }
            _ = try await first.next()
            _ = try await second.next()
            #expect(try await account.connect().status == 429)
            firstTask.cancel()
            // The node releases the slot when the socket closes (within a second): wait for it.
            let admitted = try await withTimeout(seconds: 10) {
                while true {
                    let result = try await account.connect()
                    if result.status == 200 { return result }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(admitted.status == 200)
            #expect(try await account.connect().status == 429)
        }
    }

    @Test func ticketsAreSingleUseSignedAndBoundToTheirNode() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let account = try await Account.make(endpoints.api)
            let placement = try await account.place()
            let (viewer, viewerTask) = connectSSE(placement.sseURL)
            defer { viewerTask.cancel() }
            #expect(try await viewer.next().type == "hello")

            let reused = try await request(.GET, placement.sseURL, contentType: nil)
            #expect(reused.status == 401)
            #expect(reused.json["error"] as? String == "ticket_used")

            let other = try await account.place()
            let otherNode = endpoints.nodes.first { $0.name != other.node }!
            let ticket = other.sseURL.components(separatedBy: "ticket=")[1]
            let wrongNode = try await request(.GET, otherNode.sseURL + "?ticket=" + ticket, contentType: nil)
            #expect(wrongNode.status == 401)
            #expect(wrongNode.json["error"] as? String == "wrong_node")

            let forged = TokenSigner(secret: Data("not-the-servers-secret".utf8)).sign(
                TokenClaims(kind: .ticket, subject: account.name, tier: 1, expiresAt: Int64(Date().timeIntervalSince1970) + 60,
                    sessionID: "made-up", node: other.node))
            let node = endpoints.nodes.first { $0.name == other.node }!
            let forgedResult = try await request(.GET, node.sseURL + "?ticket=" + forged, contentType: nil)
            #expect(forgedResult.status == 401)
            #expect(forgedResult.json["error"] as? String == "invalid_ticket")

            // A session token is not a ticket.
            let asTicket = try await request(.GET, node.sseURL + "?ticket=" + account.token, contentType: nil)
            #expect(asTicket.status == 401)
        }
    }

    @Test func anUnusedTicketExpiresAndFreesItsSlot() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api, tier: 3)
            let unused = try await account.place()
            #expect(try await account.connect().status == 429)
            let admitted = try await withTimeout(seconds: 15) {
                while true {
                    let result = try await account.connect()
                    if result.status == 200 { return result }
                    try await Task.sleep(for: .milliseconds(100))
                }
            }
            #expect(admitted.status == 200)
            let late = try await request(.GET, unused.sseURL, contentType: nil)
            #expect(late.status == 401)
            #expect(late.json["error"] as? String == "ticket_expired")
        } configure: { configuration in
            configuration.gateway.placement.ticketLifetime = .seconds(1)
        }
    }

    @Test func fullNodesAnswerNoCapacity() async throws {
        try await withSystem(nodes: 2) { endpoints in
            var placements: [String] = []
            for _ in 0..<4 {
                placements.append(try await Account.make(endpoints.api).place().node)
            }
            #expect(placements.sorted() == ["node-1", "node-1", "node-2", "node-2"])
            let full = try await Account.make(endpoints.api).connect()
            #expect(full.status == 503)
            #expect(full.json["error"] as? String == "no_capacity")
            let nodes = try await request(.GET, endpoints.api + "/api/nodes", contentType: nil)
            #expect(nodes.text.contains(#""viewers":2"#))
        } configure: { configuration in
            configuration.nodes.capacity = 2
        }
    }
}
