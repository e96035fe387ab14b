import EmoStore
import Foundation
import Testing

@Suite("Placement, tickets and leases")
struct PlacementTests {
    let t0 = TestStores.t0

    @Test(arguments: Backend.allCases)
    func choosesTheLowestLoadRatio(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            for index in 0..<20 {
                _ = try await store.createUser(name: "user\(index)", passwordHash: "h", tier: .three, now: t0)
            }
            try await store.registerNodes([("a", 4)], now: t0)
            #expect(try await store.reserve("user0", at: t0).nodeName == "a")
            try await store.registerNodes([("b", 10)], now: t0)
            var placed: [String?] = []
            for index in 1...2 {
                placed.append(try await store.reserve("user\(index)", at: t0).nodeName)
            }
            try await store.registerNodes([("c", 2)], now: t0)
            for index in 3...15 {
                placed.append(try await store.reserve("user\(index)", at: t0).nodeName)
            }
            // a 1/4 vs b 0/10 -> b, b, then c (empty), then always the lowest viewers/capacity, ties by name.
            #expect(placed == ["b", "b", "c", "b", "a", "b", "b", "a", "b", "c", "b", "b", "a", "b", "b"])
            #expect(try await store.reserve("user16", at: t0) == .noCapacity)
            let nodes = try await store.nodes(now: t0, nodeTTL: .seconds(10))
            #expect(nodes.map(\.name) == ["a", "b", "c"])
            #expect(nodes.map(\.viewers) == [4, 10, 2])
            #expect(nodes.map(\.isLive) == [true, true, true])
        }
    }

    /// A node's viewer count follows every way a session comes and goes: reserved, activated, released, its ticket
    /// expired, swept, its node dead, and the node registered again (which drops its sessions). PostgreSQL keeps a
    /// per-node row counter for this (migration 4); the counts must be the same as counting the live sessions.
    @Test(arguments: Backend.allCases)
    func nodeViewerCountsFollowEverySessionChange(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 2) { stores in
            let (store, other) = (stores[0], stores[1])
            for index in 0..<6 {
                _ = try await store.createUser(name: "u\(index)", passwordHash: "h", tier: .one, now: t0)
            }
            try await store.registerNodes([("a", 100)], now: t0)
            func viewers(at now: Date) async throws -> [Int] {
                try await other.nodes(now: now, nodeTTL: .seconds(10)).map(\.viewers)
            }
            var ids: [String] = []
            for index in 0..<6 {
                ids.append(try #require(try await store.reserve("u\(index)", at: t0, ticketTTL: .seconds(5)).sessionID))
            }
            #expect(try await viewers(at: t0) == [6])
            #expect(try await other.activateSession(id: ids[0], node: "a", now: t0))
            #expect(try await other.activateSession(id: ids[1], node: "a", now: t0))
            #expect(try await store.releaseSession(id: ids[2]))
            #expect(try await viewers(at: t0) == [5])
            // 6 s later: the 3 reserved tickets expired (5 s), the 2 active leases still hold (10 s).
            let t6 = t0.addingTimeInterval(6)
            try await store.heartbeat(node: "a", now: t6)
            #expect(try await viewers(at: t6) == [2])
            #expect(try await store.reserve("u5", at: t6).sessionID != nil)
            #expect(try await viewers(at: t6) == [3])
            #expect(try await other.sweepExpired(now: t6, nodeTTL: .seconds(10)) == 3)
            #expect(try await viewers(at: t6) == [3])
            // 17 s: no heartbeat since 6 s, so the node is dead and its sessions count nowhere; registered again (a
            // restarted process), it holds nobody until the next reservation.
            let t17 = t6.addingTimeInterval(11)
            #expect(try await other.nodes(now: t17, nodeTTL: .seconds(10)).map(\.isLive) == [false])
            try await store.registerNodes([("a", 100)], now: t17)
            #expect(try await viewers(at: t17) == [0])
            #expect(try await store.reserve("u0", at: t17).nodeName == "a")
            #expect(try await viewers(at: t17) == [1])
        }
    }

    @Test(arguments: Backend.allCases)
    func ticketIsSingleUseAndBoundToItsNode(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            try await store.registerNodes([("a", 10), ("b", 10)], now: t0)
            _ = try await store.createUser(name: "frank", passwordHash: "h", tier: .three, now: t0)
            let outcome = try await store.reserve("frank", at: t0)
            guard case .reserved(let ticket, let node, let expiresAt) = outcome else {
                Issue.record("expected a reservation, got \(outcome)")
                return
            }
            #expect(expiresAt == t0.addingTimeInterval(30))
            #expect(node.viewers == 1)
            let otherNode = node.name == "a" ? "b" : "a"
            let now = t0.addingTimeInterval(1)

            #expect(try await store.activateSession(id: ticket, node: otherNode, now: now) == false)
            #expect(try await store.activateSession(id: "forged-\(ticket)", node: node.name, now: now) == false)
            #expect(try await store.activateSession(id: ticket, node: node.name, now: now))
            #expect(try await store.activateSession(id: ticket, node: node.name, now: now) == false)
            // The active session still holds the single tier-3 slot.
            #expect(try await store.reserve("frank", at: now) == .tierLimit(limit: 1))
        }
    }

    @Test(arguments: Backend.allCases)
    func expiredTicketIsRefusedAndNotCounted(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            let nodeTTL = Duration.seconds(120) // keep the node live throughout
            try await store.registerNodes([("a", 1)], now: t0)
            _ = try await store.createUser(name: "gina", passwordHash: "h", tier: .three, now: t0)
            _ = try await store.createUser(name: "hank", passwordHash: "h", tier: .three, now: t0)
            let first = try await store.reserve("gina", at: t0, ticketTTL: .seconds(30), nodeTTL: nodeTTL)
            let ticket = try #require(first.sessionID)
            // The node (capacity 1) is full while the ticket is valid...
            #expect(try await store.reserve("hank", at: t0.addingTimeInterval(29), nodeTTL: nodeTTL) == .noCapacity)

            // ...and free the moment it expires, before any sweep.
            let late = t0.addingTimeInterval(30)
            #expect(try await store.activateSession(id: ticket, node: "a", now: late) == false)
            #expect(try await store.nodes(now: late, nodeTTL: nodeTTL).map(\.viewers) == [0])
            let second = try await store.reserve("gina", at: late, nodeTTL: nodeTTL)
            #expect(second.nodeName == "a")
            #expect(try await store.reserve("hank", at: late, nodeTTL: nodeTTL) == .noCapacity)

            #expect(try await store.sweepExpired(now: late, nodeTTL: nodeTTL) == 1)
            #expect(try await store.sweepExpired(now: late, nodeTTL: nodeTTL) == 0)
            #expect(try await store.releaseSession(id: ticket) == false)
            #expect(try await store.activateSession(id: try #require(second.sessionID), node: "a", now: late))
        }
    }

    @Test(arguments: Backend.allCases)
    func deadNodeIsFreedAndGetsNoPlacements(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            let nodeTTL = Duration.seconds(10)
            for index in 0..<6 {
                _ = try await store.createUser(name: "u\(index)", passwordHash: "h", tier: .three, now: t0)
            }
            try await store.registerNodes([("a", 10)], now: t0)
            let onA = try await store.reserve("u0", at: t0)
            #expect(onA.nodeName == "a")
            #expect(try await store.activateSession(id: try #require(onA.sessionID), node: "a", now: t0))
            try await store.registerNodes([("b", 10)], now: t0)

            // Only b keeps beating; a dies.
            #expect(try await store.heartbeat(node: "b", now: t0.addingTimeInterval(5)))
            #expect(try await store.heartbeat(node: "ghost", now: t0.addingTimeInterval(5)) == false)
            let still = t0.addingTimeInterval(10) // a's last heartbeat is exactly TTL old: still live
            #expect(try await store.nodes(now: still, nodeTTL: nodeTTL).map(\.isLive) == [true, true])
            #expect(try await store.reserve("u0", at: still) == .tierLimit(limit: 1))

            let later = t0.addingTimeInterval(12)
            let nodes = try await store.nodes(now: later, nodeTTL: nodeTTL)
            #expect(nodes.map(\.isLive) == [false, true])
            #expect(nodes.map(\.viewers) == [0, 0])
            // u0's session on the dead node no longer counts, even before the sweep; nobody lands on a.
            for index in 0..<6 {
                #expect(try await store.reserve("u\(index)", at: later).nodeName == "b")
            }
            #expect(try await store.sweepExpired(now: later, nodeTTL: nodeTTL) == 1)
            #expect(try await store.nodes(now: later, nodeTTL: nodeTTL).map(\.viewers) == [0, 6])

            await #expect(throws: EmoStoreError.invalidArgument("node capacity must not be negative, got -1")) {
                try await store.registerNodes([("bad", -1)], now: later)
            }
            // A restarted node registers again and takes placements.
            try await store.registerNodes([("a", 10)], now: later)
            _ = try await store.createUser(name: "late", passwordHash: "h", tier: .three, now: later)
            #expect(try await store.reserve("late", at: later).nodeName == "a")
        }
    }

    @Test(arguments: Backend.allCases)
    func aNodeMarkedUnreachableIsDeadAtOnceUntilItsNextHeartbeat(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            _ = try await store.createUser(name: "solo", passwordHash: "h", tier: .three, now: t0)
            try await store.registerNodes([("a", 10), ("b", 10)], now: t0)
            let onA = try await store.reserve("solo", at: t0)
            #expect(onA.nodeName == "a")
            #expect(try await store.activateSession(id: try #require(onA.sessionID), node: "a", now: t0))
            #expect(try await store.reserve("solo", at: t0) == .tierLimit(limit: 1))

            // Well within the TTL, the gateway finds a unreachable: its viewer's slot is free and b takes the next.
            #expect(try await store.markNodeUnreachable(node: "a"))
            #expect(try await store.markNodeUnreachable(node: "ghost") == false)
            let soon = t0.addingTimeInterval(1)
            #expect(try await store.nodes(now: soon, nodeTTL: .seconds(60)).map(\.isLive) == [false, true])
            #expect(try await store.reserve("solo", at: soon, nodeTTL: .seconds(60)).nodeName == "b")

            // A node that was only slow comes back with its next heartbeat.
            #expect(try await store.heartbeat(node: "a", now: soon))
            #expect(try await store.nodes(now: soon, nodeTTL: .seconds(60)).map(\.isLive) == [true, true])
        }
    }

    @Test(arguments: Backend.allCases)
    func heartbeatRenewsActiveLeases(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            try await store.registerNodes([("a", 10)], now: t0)
            _ = try await store.createUser(name: "ivy", passwordHash: "h", tier: .three, now: t0)
            let ticket = try #require(try await store.reserve("ivy", at: t0).sessionID)
            #expect(try await store.activateSession(id: ticket, node: "a", now: t0))
            // Beating every 5 s keeps the active session live long after its ticket expired.
            for second in stride(from: 5, through: 60, by: 5) {
                #expect(try await store.heartbeat(node: "a", now: t0.addingTimeInterval(Double(second))))
            }
            let now = t0.addingTimeInterval(61)
            #expect(try await store.sweepExpired(now: now, nodeTTL: .seconds(10)) == 0)
            #expect(try await store.nodes(now: now, nodeTTL: .seconds(10)).map(\.viewers) == [1])
            #expect(try await store.reserve("ivy", at: now) == .tierLimit(limit: 1))
            #expect(try await store.releaseSession(id: ticket))
            #expect(try await store.reserve("ivy", at: now).sessionID != nil)
        }
    }
}

@Suite("Sessions per tier")
struct SessionsByTierTests {
    let t0 = TestStores.t0

    @Test(arguments: Backend.allCases)
    func countsLiveSessionsPerTier(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            _ = try await store.createUser(name: "gold", passwordHash: "h", tier: .one, now: t0)
            _ = try await store.createUser(name: "silver", passwordHash: "h", tier: .two, now: t0)
            _ = try await store.createUser(name: "bronze", passwordHash: "h", tier: .three, now: t0)
            try await store.registerNodes([("a", 10)], now: t0)
            for _ in 0..<3 { _ = try await store.reserve("gold", at: t0) }
            _ = try await store.reserve("silver", at: t0)
            #expect(try await store.sessionsByTier(now: t0, nodeTTL: .seconds(10)) == [.one: 3, .two: 1])
            // Unused tickets (30 s) no longer count once expired.
            #expect(try await store.sessionsByTier(now: t0.addingTimeInterval(31), nodeTTL: .seconds(60)).isEmpty)
        }
    }
}
