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

    /// Reservations made together (one batch of the PostgreSQL store) each get their own outcome: an unknown user, a
    /// user over its limit and users with room, in one burst through one store object.
    @Test(arguments: Backend.allCases)
    func parallelConnectsOfDifferentUsersEachGetTheirOwnOutcome(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            try await stores[0].registerNodes([("n1", 4), ("n2", 4)], now: t0)
            _ = try await stores[0].createUser(name: "solo", passwordHash: "h", tier: .three, now: t0)
            for index in 0..<3 {
                _ = try await stores[0].createUser(name: "fan\(index)", passwordHash: "h", tier: .one, now: t0)
            }
            let requests = ["ghost"] + Array(repeating: "solo", count: 4) + (0..<3).flatMap { Array(repeating: "fan\($0)", count: 3) }
            let outcomes = try await withThrowingTaskGroup(of: (String, ReservationOutcome).self) { group in
                for user in requests {
                    group.addTask { (user, try await stores[0].reserve(user, at: self.t0)) }
                }
                var outcomes: [(String, ReservationOutcome)] = []
                for try await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0.0 == "ghost" }.map(\.1) == [.unknownUser])
            let solo = outcomes.filter { $0.0 == "solo" }.map(\.1)
            #expect(solo.compactMap(\.sessionID).count == 1)
            #expect(solo.filter { $0 == .tierLimit(limit: 1) }.count == 3)
            // 8 slots: solo's 1 and 7 of the fans' 9 connects (tier 1 allows each of them all 3).
            let fans = outcomes.filter { $0.0.hasPrefix("fan") }.map(\.1)
            #expect(fans.compactMap(\.sessionID).count == 7)
            #expect(fans.filter { $0 == .noCapacity }.count == 2)
            #expect(Set(outcomes.compactMap(\.1.sessionID)).count == 8)
            #expect(try await stores[0].nodes(now: t0, nodeTTL: .seconds(10)).map(\.viewers) == [4, 4])
        }
    }

    /// A ticket presented many times at once (through several store objects) is activated exactly once.
    @Test(arguments: Backend.allCases)
    func aTicketPresentedManyTimesAtOnceIsActivatedOnce(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 3) { stores in
            try await stores[0].registerNodes([("n1", 100)], now: t0)
            _ = try await stores[0].createUser(name: "viewer", passwordHash: "h", tier: .one, now: t0)
            let tickets = try await reserveInParallel(Array(repeating: "viewer", count: 5), stores: stores, at: t0).compactMap(\.sessionID)
            #expect(tickets.count == 5)
            let activated = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for (index, ticket) in (tickets + tickets + tickets + tickets).enumerated() {
                    let store = stores[index % stores.count]
                    group.addTask { (ticket, try await store.activateSession(id: ticket, node: "n1", now: self.t0)) }
                }
                var activated: [(String, Bool)] = []
                for try await result in group { activated.append(result) }
                return activated
            }
            for ticket in tickets {
                #expect(activated.filter { $0.0 == ticket && $0.1 }.count == 1)
            }
            #expect(activated.filter(\.1).count == 5)
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
