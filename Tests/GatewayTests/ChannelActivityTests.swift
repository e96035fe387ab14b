import EmoTestSupport
import EmoCore
import EmoStore
import Foundation
@testable import Gateway
import HummingbirdTesting
import Testing

/// Reactions per second per channel from the bursts, bounded in channels and bursts kept.
@Suite struct ChannelActivityTests {
    let now: EpochMillis = 1_800_000_000_000

    func activity(_ configure: (inout ChannelActivity.Configuration) -> Void = { _ in }, store: SQLiteEmoStore) -> ChannelActivity {
        var configuration = ChannelActivity.Configuration()
        configuration.span = .seconds(10)
        configure(&configuration)
        return ChannelActivity(log: nil, store: store, registry: nil, configuration: configuration, logger: quietLogger)
    }

    @Test func ratesAverageTheBurstsOfTheLastSpan() async throws {
        try await withSQLiteStore { store in
            let activity = activity(store: store)
            activity.record(channel: "main", windowEnd: now - 2_000, total: 50, now: now)
            activity.record(channel: "main", windowEnd: now - 1_000, total: 30, now: now)
            activity.record(channel: "cricket", windowEnd: now - 500, total: 5, now: now)
            #expect(activity.rates(now: now) == ["main": 8, "cricket": 0.5])
            // Later, the first main burst has left the span.
            #expect(activity.rates(now: now + 8_500) == ["main": 3, "cricket": 0.5])
            #expect(activity.rates(now: now + 20_000).isEmpty)
        }
    }

    @Test func aBurstOlderThanTheSpanCountsForNothing() async throws {
        try await withSQLiteStore { store in
            let activity = activity(store: store)
            activity.record(channel: "old", windowEnd: now - 60_000, total: 1_000, now: now)
            #expect(activity.rates(now: now)["old"] == nil)
        }
    }

    @Test func keepsAtMostMaxBurstsPerChannel() async throws {
        try await withSQLiteStore { store in
            let activity = activity({ $0.maxBurstsPerChannel = 3 }, store: store)
            for offset in 1...5 as ClosedRange<EpochMillis> {
                activity.record(channel: "main", windowEnd: now - 1_000 + offset, total: 10, now: now)
            }
            #expect(activity.rates(now: now + 10) == ["main": 3])
        }
    }

    @Test func forgetsTheLeastRecentlyActiveChannelBeyondMaxChannels() async throws {
        try await withSQLiteStore { store in
            let activity = activity({ $0.maxChannels = 2 }, store: store)
            activity.record(channel: "a", windowEnd: now - 3_000, total: 10, now: now)
            activity.record(channel: "b", windowEnd: now - 2_000, total: 10, now: now)
            activity.record(channel: "c", windowEnd: now - 1_000, total: 10, now: now)
            #expect(Set(activity.rates(now: now).keys) == ["b", "c"])
            // A new burst keeps b: c is now the least recently active, and goes when d comes.
            activity.record(channel: "b", windowEnd: now - 500, total: 10, now: now)
            activity.record(channel: "d", windowEnd: now - 400, total: 10, now: now)
            #expect(Set(activity.rates(now: now).keys) == ["b", "d"])
        }
    }

    @Test func theListOrdersLiveChannelsByViewersThenReactions() async throws {
        try await withSQLiteStore { store in
            let date = Date()
            try await store.registerNode(name: "n1", wsURL: "ws://n1.test/ws", sseURL: "http://n1.test/events", capacity: 10, now: date)
            _ = try await store.createUser(name: "viewer", passwordHash: "h", tier: .one)
            _ = try await store.reserveSession(
                user: "viewer", channel: "quiet", now: date, ticketTTL: .seconds(60), nodeTTL: .seconds(60))
            let activity = activity(store: store)
            let wall = EpochMillis.now()
            activity.record(channel: "busy", windowEnd: wall, total: 100, now: wall)
            activity.record(channel: "calm", windowEnd: wall, total: 10, now: wall)
            let list = try await activity.refresh()
            #expect(list.map(\.name) == ["quiet", "busy", "calm"])
            #expect(list.first == ChannelActivity.Figures(name: "quiet", viewers: 1, reactionsPerSecond: 0))
            #expect(list.dropFirst().map(\.reactionsPerSecond) == [10, 1])
        }
    }

    @Test(arguments: ["0", "1001", "-1", "ten"])
    func theChannelListRejectsALimitOutside1To1000(limit: String) async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, _ in
                let response = try await client.execute(uri: "/api/channels?limit=\(limit)", method: .get)
                #expect(response.status == .badRequest)
                #expect(try json(response)["error"] as? String == "invalid_limit")
            }
        }
    }

    @Test func theChannelListHonoursItsLimit() async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, gateway in
                let wall = EpochMillis.now()
                gateway.activity.record(channel: "busy", windowEnd: wall, total: 100, now: wall)
                gateway.activity.record(channel: "calm", windowEnd: wall, total: 10, now: wall)
                let all = try await client.execute(uri: "/api/channels", method: .get)
                #expect(all.status == .ok)
                let channels = try #require(try json(all)["channels"] as? [[String: Any]])
                #expect(channels.compactMap { $0["name"] as? String } == ["busy", "calm"])
                #expect((channels.first?["reactions_per_second"] as? NSNumber)?.doubleValue == 10)

                let one = try await client.execute(uri: "/api/channels?limit=1", method: .get)
                let first = try #require(try json(one)["channels"] as? [[String: Any]])
                #expect(first.compactMap { $0["name"] as? String } == ["busy"])
            }
        }
    }
}
