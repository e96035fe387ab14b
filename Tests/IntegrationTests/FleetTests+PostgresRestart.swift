import Foundation
import Testing

extension FleetTests {
    /// PostgreSQL restarted under a gateway and a node: while it is down, requests that need the store get a JSON 503
    /// (never a hang or a crash) and viewers already connected keep their streams; once it is back, both processes
    /// use it again by themselves.
    @Test(.enabled(if: OwnPostgres.binaries != nil, "needs EMOSTREAM_TEST_PG_BIN (scripts/with-postgres.sh)"))
    func aRestartedPostgreSQLServerIsUsedAgainByTheGatewayAndTheNodes() async throws {
        let postgres = try await OwnPostgres.create()
        defer { postgres.destroy() }
        let fleet = try await NodeFleet.start(nodeTTL: "10s", nodes: ["node-a"], databaseURL: postgres.url)
        defer { fleet.stop() }
        let api = fleet.api
        let account = try await Account.make(api, tier: 2)
        let viewers = try await account.watchOverSSE(devices: 1)
        defer { viewers.forEach { $0.task.cancel() } }
        let firstStreamEnded = Flag()
        let watcher = Task { [task = viewers[0].task] in
            _ = try? await task.value
            firstStreamEnded.set()
        }
        defer { watcher.cancel() }

        try postgres.stop()
        // Down: a placement is refused with a JSON error naming the store, promptly.
        let started = ContinuousClock.now
        let refused = try await account.connect()
        let refusedAfter = ContinuousClock.now - started
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.json["error"] as? String == "store_unavailable", "\(refused.text)")
        #expect(refusedAfter < .seconds(10))
        let login = try await request(.POST, api + "/api/login", body: #"{"name":"\#(account.name)","password":"x"}"#)
        #expect(login.status == 503, "\(login.text)")
        try await Task.sleep(for: .seconds(3))  // an outage of a few seconds (heartbeats fail meanwhile); not a wait
        #expect(fleet.gateway.process.isRunning && fleet.node("node-a").process.isRunning)

        try await postgres.start()
        let restarted = ContinuousClock.now
        let placed = try await placedOnceTheStoreIsBack(account)
        let recoveredAfter = ContinuousClock.now - restarted
        #expect(placed.json["node"] as? String == "node-a")
        // The node's heartbeats reach the store again: it stays listed (its TTL is 10 s) and serves the new viewer.
        let second = try await account.watchOverSSE(devices: 1)
        defer { second.forEach { $0.task.cancel() } }
        #expect(second.map(\.node) == ["node-a"])
        // Past the node TTL (10 s) counted from the restart, which is longer than since its last heartbeat before the
        // outage: the node is still listed only if its heartbeats reached the store again.
        try await Task.sleep(until: restarted.advanced(by: .seconds(11)))
        let nodes = try await request(.GET, api + "/api/nodes", contentType: nil)
        #expect(nodes.status == 200 && nodes.text.contains("node-a"), "\(nodes.text)")
        // The viewer connected before the outage never lost its stream.
        #expect(!firstStreamEnded.isSet)
        #expect(fleet.gateway.process.isRunning && fleet.node("node-a").process.isRunning)
        reliabilityRow(
            "store", "PostgreSQL stopped (fast shutdown) for 3 s under a gateway and a node, then started again",
            "while down: POST /api/connect answered 503 store_unavailable in \(seconds(refusedAfter)), login 503; the "
                + "connected viewer kept its stream; \(seconds(recoveredAfter)) after the restart placements succeeded "
                + "again, and the node was still listed past its 10 s TTL (heartbeats resumed); no process exited")
    }
}

extension FleetTests {
    /// PostgreSQL frozen (SIGSTOP of the server and its backends: its connections stay open and nothing answers, as on
    /// a hung host): requests that need the store get a JSON 503 once it has answered nothing for 5 s, never a hang;
    /// once it is thawed, the gateway places viewers again by itself.
    @Test(.enabled(if: OwnPostgres.binaries != nil, "needs EMOSTREAM_TEST_PG_BIN (scripts/with-postgres.sh)"))
    func aFrozenPostgreSQLServerIsAnswered503AndUsedAgainOnceItThaws() async throws {
        let postgres = try await OwnPostgres.create()
        defer { postgres.destroy() }
        let fleet = try await NodeFleet.start(nodeTTL: "60s", nodes: ["node-a"], databaseURL: postgres.url)
        defer { fleet.stop() }
        let account = try await Account.make(fleet.api, tier: 1)
        #expect(try await account.connect().status == 200)

        try postgres.signalAll(SIGSTOP)
        let frozen = ContinuousClock.now
        let refused = try await account.connect()
        let refusedAfter = ContinuousClock.now - frozen
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.json["error"] as? String == "store_unavailable", "\(refused.text)")
        #expect(refusedAfter < .seconds(10))
        #expect(fleet.gateway.process.isRunning && fleet.node("node-a").process.isRunning)

        try postgres.signalAll(SIGCONT)
        let thawed = ContinuousClock.now
        let placed = try await placedOnceTheStoreIsBack(account)
        let recoveredAfter = ContinuousClock.now - thawed
        #expect(placed.json["node"] as? String == "node-a")
        reliabilityRow(
            "store", "PostgreSQL frozen (SIGSTOP of the server and its backends) under a gateway and a node, then thawed",
            "while frozen: POST /api/connect answered 503 store_unavailable in \(seconds(refusedAfter)) (before: "
                + "held past the client's 30 s deadline); "
                + "\(seconds(recoveredAfter)) after the thaw placements succeeded again; no process exited")
    }
}

extension FleetTests {
    /// Connects `account` every 100 ms until it is placed (within 30 s); every refusal meanwhile must be a 503.
    func placedOnceTheStoreIsBack(_ account: Account) async throws -> HTTPResult {
        try await withTimeout(seconds: 30) {
            while true {
                let result = try await account.connect()
                if result.status == 200 { return result }
                #expect(result.status == 503, "\(result.text)")
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}
