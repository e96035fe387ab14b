import AsyncHTTPClient
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
            configuration.accounts.adminPassword = "operator-password"
        }
    }
}
