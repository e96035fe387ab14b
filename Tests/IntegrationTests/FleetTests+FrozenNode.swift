import Foundation
import Testing

extension FleetTests {
    /// A node that is frozen (SIGSTOP: its kernel still accepts TCP connections, nothing answers them) is found
    /// unreachable by its `/healthz` going unanswered, long before the node TTL: its viewers are placed again on the
    /// other node, and new viewers go there too.
    @Test func aFrozenNodeIsFoundUnreachableAndItsViewersArePlacedAgainBeforeTheTTL() async throws {
        let fleet = try await NodeFleet.start(nodeTTL: "60s", nodes: ["node-a", "node-b"])
        defer { fleet.stop() }
        let nodeA = fleet.node("node-a")
        let api = fleet.api

        let account = try await Account.make(api, tier: 1)
        let viewers = try await account.watchOverSSE(devices: 5)
        defer { viewers.forEach { $0.task.cancel() } }
        #expect(viewers.filter { $0.node == "node-a" }.count == 3)
        #expect(try await account.connect().status == 429)

        nodeA.signal(SIGSTOP)
        defer { nodeA.signal(SIGCONT) }
        let frozen = ContinuousClock.now
        let firstPlaced = try await withTimeout(seconds: 30) {
            while true {
                let result = try await account.connect()
                if result.status == 200 { return result }
                #expect(result.status == 429)
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        let placedAgainAfter = ContinuousClock.now - frozen
        var replaced = [firstPlaced.json["node"] as? String]
        for _ in 0..<2 {
            let result = try await account.connect()
            #expect(result.status == 200, "\(result.text)")
            replaced.append(result.json["node"] as? String)
        }
        #expect(replaced == ["node-b", "node-b", "node-b"])
        #expect(try await account.connect().status == 429)
        // A new user's viewers go to node-b only.
        let other = try await Account.make(api, tier: 1)
        for _ in 0..<3 {
            let result = try await other.connect()
            #expect(result.status == 200 && result.json["node"] as? String == "node-b", "\(result.text)")
        }
        let warned = try await fleet.gateway.waitForLine { $0.contains("node unreachable") && $0.contains("node-a") }
        #expect(warned.contains("no answer within"), "\(warned)")
        reliabilityRow(
            "node", "a node frozen (SIGSTOP) holding 3 of a tier-1 user's 5 devices (node TTL 60 s)",
            "its /healthz went unanswered (its kernel still accepts TCP connections): marked unreachable and its viewers "
                + "placed again on the other node \(seconds(placedAgainAfter)) after the freeze (before: a TCP probe passed it, "
                + "so until the TTL); 3 of 3 placed, new viewers placed on the other node only, the 6th device still refused")
    }
}
