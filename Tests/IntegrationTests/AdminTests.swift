import AsyncHTTPClient
import EmoCore
import Ingest
import Foundation
import Testing

@Suite(.serialized) struct AdminTests {
    @Test func theOperatorAPIIsOffWithoutAPassword() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let login = try await request(.POST, endpoints.api + "/api/admin/login", body: #"{"password":"anything-at-all"}"#)
            #expect(login.status == 404)
            #expect(login.json["error"] as? String == "admin_disabled")
        }
    }

    @Test func theOperatorSeesNodesSessionsPerTierAndTotals() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let wrong = try await request(.POST, endpoints.api + "/api/admin/login", body: #"{"password":"wrong-password"}"#)
            #expect(wrong.status == 401)
            #expect(try await request(.GET, endpoints.api + "/api/admin/overview", contentType: nil).status == 401)
            let viewer = try await Account.make(endpoints.api, tier: 2)
            _ = try await viewer.place()
            #expect(try await request(.GET, endpoints.api + "/api/admin/overview", contentType: nil, bearer: viewer.token).status == 401)
            _ = try await postReactions(endpoints.api, [("👏", 7)])

            let login = try await request(.POST, endpoints.api + "/api/admin/login", body: #"{"password":"operator-password"}"#)
            let token = try #require(login.json["token"] as? String)
            let overview = try await request(.GET, endpoints.api + "/api/admin/overview", contentType: nil, bearer: token)
            #expect(overview.status == 200)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(overview.text.utf8)) as? [String: Any])
            let nodes = try #require(object["nodes"] as? [[String: Any]])
            #expect(nodes.map { $0["name"] as? String } == ["node-1", "node-2"])
            #expect(nodes.map { $0["live"] as? Bool } == [true, true])
            #expect(nodes.compactMap { $0["viewers"] as? Int }.reduce(0, +) == 1)
            #expect(object["sessions_by_tier"] as? [String: Int] == ["1": 0, "2": 1, "3": 0])
            #expect(object["reactions_accepted_total"] as? Int == 7)
        } configure: { configuration in
            configuration.gateway.adminPassword = "operator-password"
        }
    }
}

@Suite(.serialized) struct DrainAndRateLimitTests {
    @Test func drainingANodeMovesItsViewersToAnotherWithoutMissingABurst() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let login = try await request(.POST, endpoints.api + "/api/admin/login", body: #"{"password":"operator-password"}"#)
            let operatorToken = try #require(login.json["token"] as? String)
            let account = try await Account.make(endpoints.api)
            let first = try await account.place()
            let (viewer, task) = connectWebSocket(first.wsURL)
            defer { task.cancel() }
            _ = try await viewer.next()
            _ = try await postReactions(endpoints.api, [("🔥", 3)])
            #expect(try await viewer.next().seq == 1)

            let drained = try await request(
                .POST, endpoints.api + "/api/admin/nodes/\(first.node)/drain", contentType: nil, bearer: operatorToken)
            #expect(drained.status == 200)
            // The viewer's socket is closed; a burst published meanwhile must not be lost.
            await #expect(throws: (any Error).self) { _ = try await viewer.next() }
            _ = try await postReactions(endpoints.api, [("🎉", 2)], user: "after-drain")
            let second = try await account.place()
            #expect(second.node != first.node)
            let (resumed, resumedTask) = connectWebSocket(second.wsURL + "&after=1")
            defer { resumedTask.cancel() }
            #expect(try await resumed.next().type == "hello")
            let missed = try await resumed.next()
            #expect(missed.seq == 2)
            #expect(counts(missed) == ["🎉": 2])
            let unknown = try await request(
                .POST, endpoints.api + "/api/admin/nodes/nope/drain", contentType: nil, bearer: operatorToken)
            #expect(unknown.status == 404)
        } configure: { configuration in
            configuration.gateway.adminPassword = "operator-password"
        }
    }

    @Test func oneUserIsRateLimitedWithoutLosingOtherUsersReactions() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let now = EpochMillis.now()
            func batch(_ users: [(String, Int)]) -> String {
                "[" + users.flatMap { user, count in
                    Array(repeating: Reaction(userID: user, emoji: "👏", clientTimestamp: now).jsonText(), count: count)
                }.joined(separator: ",") + "]"
            }
            #expect(try await request(.POST, endpoints.api + "/api/emojis", body: batch([("tapper", 1)])).status == 202)
            let limited = try await request(.POST, endpoints.api + "/api/emojis", body: batch([("other", 1), ("tapper", 1)]))
            #expect(limited.status == 429)
            #expect(limited.json["error"] as? String == "rate_limited")
            #expect(limited.json["retry_after"] as? String == "10")
            // All or nothing: "other" lost no token to the refused batch.
            #expect(try await request(.POST, endpoints.api + "/api/emojis", body: batch([("other", 1)])).status == 202)
        } configure: { configuration in
            configuration.ingest.userRate = 0.1  // one reaction, then one every 10 s: nothing refills during the test
        }
    }

    @Test func tokenBucketsRefillAtTheRateUpToTheBurst() {
        let limiter = UserRateLimiter(rate: 20, burst: 40)
        let start = ContinuousClock.now
        #expect(limiter.admit(["a": 40], now: start) == .admitted)
        #expect(limiter.admit(["a": 1], now: start) == .wait(.milliseconds(50)))
        #expect(limiter.admit(["a": 10], now: start.advanced(by: .milliseconds(500))) == .admitted)
        #expect(limiter.admit(["a": 41], now: start.advanced(by: .seconds(60))) == .exceedsBurst(user: "a", limit: 40))
        #expect(limiter.admit(["a": 40, "b": 40], now: start.advanced(by: .seconds(60))) == .admitted)
        #expect(limiter.admit(["a": 1, "c": 1], now: start.advanced(by: .seconds(60))) == .wait(.milliseconds(50)))
        #expect(limiter.admit(["c": 40], now: start.advanced(by: .seconds(60))) == .admitted)  // c lost nothing
    }
}
