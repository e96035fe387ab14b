import EmoStore
import Foundation
import Testing

/// Parallel reservations through several store objects (several connections each), as several gateway
/// processes would make them.
@Suite("Limits under concurrency")
struct ConcurrencyTests {
    let t0 = TestStores.t0

    /// Runs `users[i]`'s reservation for every `i` at once, spread round-robin over `stores`.
    func reserveInParallel(_ users: [String], stores: [any EmoStore], at now: Date) async throws -> [ReservationOutcome] {
        try await withThrowingTaskGroup(of: ReservationOutcome.self) { group in
            for (index, user) in users.enumerated() {
                let store = stores[index % stores.count]
                group.addTask { try await store.reserve(user, at: now) }
            }
            var outcomes: [ReservationOutcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
    }

    @Test(arguments: Backend.allCases, Tier.allCases)
    func fiftyParallelConnectsAdmitExactlyTheTierLimit(_ backend: Backend, _ tier: Tier) async throws {
        try await TestStores.with(backend, instances: 3) { stores in
            try await stores[0].registerNodes([("n1", 100), ("n2", 100), ("n3", 100)], now: t0)
            _ = try await stores[0].createUser(name: "viewer", passwordHash: "h", tier: tier, now: t0)

            let outcomes = try await reserveInParallel(Array(repeating: "viewer", count: 50), stores: stores, at: t0)

            #expect(outcomes.compactMap(\.sessionID).count == tier.maxDevices)
            #expect(outcomes.filter { $0 == .tierLimit(limit: tier.maxDevices) }.count == 50 - tier.maxDevices)
            let nodes = try await stores[1].nodes(now: t0, nodeTTL: .seconds(10))
            #expect(nodes.map(\.viewers).reduce(0, +) == tier.maxDevices)
        }
    }

    @Test(arguments: Backend.allCases)
    func releasingOneSessionFreesExactlyOneSlot(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 3) { stores in
            try await stores[0].registerNodes([("n1", 100), ("n2", 100), ("n3", 100)], now: t0)
            _ = try await stores[0].createUser(name: "viewer", passwordHash: "h", tier: .two, now: t0)
            let held = try await reserveInParallel(Array(repeating: "viewer", count: 20), stores: stores, at: t0)
                .compactMap(\.sessionID)
            #expect(held.count == 2)

            #expect(try await stores[1].releaseSession(id: held[0]))
            #expect(try await stores[2].releaseSession(id: held[0]) == false)

            let again = try await reserveInParallel(Array(repeating: "viewer", count: 20), stores: stores, at: t0)
            #expect(again.compactMap(\.sessionID).count == 1)
            #expect(again.filter { $0 == .tierLimit(limit: 2) }.count == 19)
        }
    }

    @Test(arguments: Backend.allCases)
    func nodesNeverExceedCapacityInAStorm(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 3) { stores in
            let capacities = [("n1", 3), ("n2", 5), ("n3", 7)]
            try await stores[0].registerNodes(capacities, now: t0)
            let users = (0..<40).map { "storm\($0)" }
            for user in users {
                _ = try await stores[0].createUser(name: user, passwordHash: "h", tier: .one, now: t0)
            }

            // 80 connects (two per user, tier 1 allows five) for 15 slots.
            let outcomes = try await reserveInParallel(users + users, stores: stores, at: t0)

            #expect(outcomes.compactMap(\.sessionID).count == 15)
            #expect(outcomes.filter { $0 == .noCapacity }.count == 65)
            for (name, capacity) in capacities {
                #expect(outcomes.filter { $0.nodeName == name }.count == capacity)
            }
            let nodes = try await stores[2].nodes(now: t0, nodeTTL: .seconds(10))
            #expect(nodes.map(\.viewers) == capacities.map(\.1))
            for case .reserved(_, let node, _) in outcomes {
                #expect(node.viewers <= node.capacity)
            }
        }
    }
}
