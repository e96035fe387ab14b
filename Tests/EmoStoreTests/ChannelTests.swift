import EmoStore
import Foundation
import Testing

@Suite("Channels")
struct ChannelTests {
    let t0 = TestStores.t0

    @Test(arguments: Backend.allCases)
    func addListAndRemoveChannels(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            #expect(try await store.listChannels().isEmpty)
            #expect(try await store.addChannel(name: "cricket", now: t0))
            #expect(try await store.addChannel(name: "concert", now: t0.addingTimeInterval(1)))
            #expect(try await store.addChannel(name: "cricket", now: t0) == false)  // exists
            #expect(try await store.listChannels().map(\.name) == ["concert", "cricket"])
            let cricket = try #require(try await store.channel(named: "cricket"))
            #expect(abs(cricket.createdAt.timeIntervalSince(t0)) < 0.001)
            #expect(try await store.channel(named: "talk-show") == nil)

            #expect(try await store.removeChannel(named: "cricket"))
            #expect(try await store.removeChannel(named: "cricket") == false)
            #expect(try await store.listChannels().map(\.name) == ["concert"])
        }
    }

    @Test(arguments: Backend.allCases)
    func ensureChannelsRegistersOnlyWhatIsMissing(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 2) { stores in
            #expect(try await stores[0].addChannel(name: "main", now: t0))
            // Two "processes" creating the same channels on first use at once.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores {
                    group.addTask { try await store.ensureChannels(["main", "ch-1", "ch-2", "ch-1"], now: t0.addingTimeInterval(5)) }
                }
                try await group.waitForAll()
            }
            try await stores[1].ensureChannels([], now: t0)
            let channels = try await stores[1].listChannels()
            #expect(channels.map(\.name) == ["ch-1", "ch-2", "main"])
            // An existing channel keeps its creation time.
            #expect(abs(try #require(channels.last).createdAt.timeIntervalSince(t0)) < 0.001)
        }
    }

    @Test(arguments: Backend.allCases)
    func viewersAreCountedPerChannelAndFollowASwitch(_ backend: Backend) async throws {
        try await TestStores.with(backend) { stores in
            let store = stores[0]
            try await store.registerNodes([("n1", 10), ("n2", 10)], now: t0)
            _ = try await store.createUser(name: "asha", passwordHash: "h", tier: .one, now: t0)
            _ = try await store.createUser(name: "bilal", passwordHash: "h", tier: .one, now: t0)
            let reserved = try await store.reserveSession(
                user: "asha", channel: "cricket", now: t0, ticketTTL: .seconds(30), nodeTTL: .seconds(10))
            let first = try #require(reserved.sessionID)
            _ = try await store.reserveSession(user: "bilal", channel: "cricket", now: t0, ticketTTL: .seconds(30), nodeTTL: .seconds(10))
            _ = try await store.reserve("bilal", at: t0)  // the default channel
            #expect(try await store.viewersByChannel(now: t0, nodeTTL: .seconds(10)) == ["cricket": 2, "main": 1])

            #expect(try await store.activateSession(id: first, node: try #require(reserved.nodeName), now: t0))
            #expect(try await store.setSessionChannel(id: first, channel: "concert"))
            #expect(try await store.setSessionChannel(id: "no-such-session", channel: "concert") == false)
            #expect(
                try await store.viewersByChannel(now: t0.addingTimeInterval(1), nodeTTL: .seconds(10))
                    == ["concert": 1, "cricket": 1, "main": 1])
            // Reserved tickets expire; the active session lives on while its node heartbeats.
            try await store.heartbeat(node: "n1", now: t0.addingTimeInterval(40))
            try await store.heartbeat(node: "n2", now: t0.addingTimeInterval(40))
            #expect(try await store.viewersByChannel(now: t0.addingTimeInterval(40), nodeTTL: .seconds(10)) == ["concert": 1])
        }
    }

}

@Suite("Channel registry cache")
struct ChannelRegistryTests {
    @Test(arguments: Backend.allCases)
    func anOpenRegistryCreatesChannelsOnFirstUse(_ backend: Backend) async throws {
        try await TestStores.with(backend) { (stores: [any EmoStore]) async throws in
            let registry = ChannelRegistry(store: stores[0])
            #expect(try await registry.admit(["main", "cricket", "main"]) == nil)
            #expect(try await registry.allows("never-used"))  // watching needs no registration
            #expect(try await stores[0].listChannels().map(\.name) == ["cricket", "main"])
        }
    }

    @Test(arguments: Backend.allCases)
    func aClosedRegistryAcceptsOnlyRegisteredChannelsAndFollowsTheStore(_ backend: Backend) async throws {
        try await TestStores.with(backend, instances: 2) { (stores: [any EmoStore]) async throws in
            // stores[1] stands in for `emostream channels add/remove` in another process.
            let registry = ChannelRegistry(
                store: stores[0], configuration: .init(closed: true, refreshInterval: .seconds(3600), negativeTTL: .zero))
            try await stores[1].addChannel(name: "cricket", now: TestStores.t0)
            #expect(try await registry.admit(["cricket", "concert", "quiz"]) == "concert")
            #expect(try await registry.allows("cricket"))
            #expect(try await registry.allows("concert") == false)

            try await stores[1].addChannel(name: "concert", now: TestStores.t0)
            #expect(try await registry.admit(["cricket", "concert"]) == nil)  // a miss is looked up at once

            // A removal reaches the cache when it is reloaded (every refreshInterval).
            #expect(try await stores[1].removeChannel(named: "cricket"))
            #expect(try await registry.allows("cricket"))
            try await registry.reload()
            #expect(try await registry.allows("cricket") == false)
            #expect(try await stores[0].listChannels().map(\.name) == ["concert"])  // nothing was created
        }
    }
}
