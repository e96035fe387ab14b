import EmoStore
import Foundation
import Testing

@Suite("Schema and accounts")
struct AccountTests {
    let t0 = TestStores.t0

    @Test(arguments: Backend.allCases)
    func migrateIsIdempotentAndConcurrent(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 2) { stores in
            // Already migrated once by the harness; again, and from two "processes" at the same time.
            try await stores[0].migrate()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores {
                    group.addTask { try await store.migrate() }
                }
                try await group.waitForAll()
            }
            let user = try await stores[1].createUser(name: "alice", passwordHash: "h", tier: .one, now: t0)
            #expect(try await stores[0].user(named: "alice") == user)
        }
    }

    @Test(arguments: Backend.allCases)
    func createAndReadUsers(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            let createdAt = t0.addingTimeInterval(0.123_456_7) // sub-millisecond part is dropped
            let alice = try await store.createUser(name: "alice", passwordHash: "$2b$12$hash", tier: .two, now: createdAt)
            #expect(alice.name == "alice")
            #expect(alice.tier == .two)
            #expect(abs(alice.createdAt.timeIntervalSince(createdAt)) < 0.001)
            #expect(try await store.user(named: "alice") == alice)
            #expect(try await store.user(named: "nobody") == nil)

            await #expect(throws: EmoStoreError.nameTaken) {
                try await store.createUser(name: "alice", passwordHash: "other", tier: .one, now: t0)
            }
            // The failed duplicate changed nothing.
            #expect(try await store.user(named: "alice") == alice)

            let bob = try await store.createUser(name: "bob", passwordHash: "h2", tier: .three, now: t0)
            #expect(try await store.listUsers() == [alice, bob])
        }
    }

    @Test(arguments: Backend.allCases)
    func setTierChangesTheLimit(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            try await store.registerNodes([("n1", 10)], now: t0)
            _ = try await store.createUser(name: "carol", passwordHash: "h", tier: .three, now: t0)
            #expect(try await store.reserve("carol", at: t0).sessionID != nil)
            #expect(try await store.reserve("carol", at: t0) == .tierLimit(limit: 1))

            #expect(try await store.setTier(name: "carol", tier: .two))
            #expect(try await store.user(named: "carol")?.tier == .two)
            #expect(try await store.reserve("carol", at: t0).sessionID != nil)
            #expect(try await store.reserve("carol", at: t0) == .tierLimit(limit: 2))

            #expect(try await store.setTier(name: "nobody", tier: .one) == false)
        }
    }

    @Test(arguments: Backend.allCases)
    func removeUserDropsTheirSessions(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            try await store.registerNodes([("n1", 10)], now: t0)
            _ = try await store.createUser(name: "dave", passwordHash: "h", tier: .one, now: t0)
            _ = try await store.createUser(name: "erin", passwordHash: "h", tier: .one, now: t0)
            for _ in 0..<3 { #expect(try await store.reserve("dave", at: t0).sessionID != nil) }
            #expect(try await store.reserve("erin", at: t0).sessionID != nil)
            #expect(try await store.nodes(now: t0, nodeTTL: .seconds(10)).map(\.viewers) == [4])

            #expect(try await store.removeUser(named: "dave"))
            #expect(try await store.user(named: "dave") == nil)
            #expect(try await store.nodes(now: t0, nodeTTL: .seconds(10)).map(\.viewers) == [1])
            #expect(try await store.removeUser(named: "dave") == false)
            #expect(try await store.reserve("dave", at: t0) == .unknownUser)
            #expect(try await store.listUsers().map(\.name) == ["erin"])
        }
    }

    @Test
    func parsesDatabaseURLs() throws {
        let configuration = try PostgresEmoStore.configuration(url: "postgres://emo%40user:p%3Ass%2Fw@db.example:6543/emostream")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6543)
        #expect(configuration.username == "emo@user")
        #expect(configuration.password == "p:ss/w")
        #expect(configuration.database == "emostream")

        let defaults = try PostgresEmoStore.configuration(url: "postgresql://emo@localhost")
        #expect(defaults.port == 5432)
        #expect(defaults.password == nil)
        #expect(defaults.database == "emo")

        #expect(throws: EmoStoreError.self) { try PostgresEmoStore.configuration(url: "mysql://a@b/c") }
        #expect(throws: EmoStoreError.self) { try PostgresEmoStore.configuration(url: "postgres://localhost/db") }
        #expect(throws: EmoStoreError.self) { try PostgresEmoStore.configuration(url: "postgres://a@h/db?sslmode=require") }
    }
}
