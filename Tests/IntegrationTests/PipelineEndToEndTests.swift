import AsyncHTTPClient
import EmoCore
import Foundation
import LoadGen
import Testing

@Suite(.serialized) struct PipelineEndToEndTests {
    @Test func aBurstReachesWebSocketAndSSEViewersOnDifferentNodesWithExactCounts() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let account = try await Account.make(endpoints.api)
            let first = try await account.place()
            let second = try await account.place()
            #expect(first.node != second.node)  // the lowest load ratio spreads viewers
            let (ws, wsTask) = connectWebSocket(first.wsURL)
            let (sse, sseTask) = connectSSE(second.sseURL)
            defer {
                wsTask.cancel()
                sseTask.cancel()
            }
            let wsHello = try await ws.next()
            let sseHello = try await sse.next()
            #expect(wsHello.type == "hello" && wsHello.node == first.node && wsHello.seq == 0)
            #expect(sseHello.type == "hello" && sseHello.node == second.node)

            let posted = try await postReactions(endpoints.api, [("😀", 450), ("sad", 120), ("🔥", 7)])
            #expect(posted.status == 202)
            #expect(posted.json["accepted"] as? String == "577")

            for burst in [try await ws.next(), try await sse.next()] {
                #expect(burst.type == "burst")
                #expect(burst.seq == 1)
                #expect(burst.total == 577)
                #expect(counts(burst) == ["😀": 450, "😢": 120, "🔥": 7])
                #expect(scaled(burst) == ["😀": 5, "😢": 2, "🔥": 1])
                #expect(burst.emojis?.map(\.count) == [450, 120, 7])
            }
        }
    }

    @Test func aReconnectingViewerGetsWhatItMissedWithAfter() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api)
            let (live, liveTask) = connectWebSocket(try await account.place().wsURL)
            defer { liveTask.cancel() }
            _ = try await live.next()
            for round in 1...3 {
                _ = try await postReactions(endpoints.api, [("👏", round)])
                let burst = try await live.next()
                #expect(burst.seq == UInt64(round))
            }
            let (resumed, resumedTask) = connectWebSocket(try await account.place().wsURL + "&after=1")
            defer { resumedTask.cancel() }
            let hello = try await resumed.next()
            #expect(hello.seq == 3)
            let replay = [try await resumed.next(), try await resumed.next()]
            #expect(replay.map(\.seq) == [2, 3])
            #expect(replay.map { counts($0)["👏"] } == [2, 3])

            let (sse, sseTask) = connectSSE(try await account.place().sseURL + "&after=2")
            defer { sseTask.cancel() }
            _ = try await sse.next()
            #expect(try await sse.next().seq == 3)
        }
    }

    @Test func everyAcceptedReactionIsCountedExactlyOnceUnderLoad() async throws {
        try await withSystem(nodes: 1, window: 100) { endpoints in
            let (viewer, viewerTask) = connectWebSocket(try await Account.make(endpoints.api).place().wsURL)
            defer { viewerTask.cancel() }
            _ = try await viewer.next()
            var configuration = LoadGenerator.Configuration()
            configuration.url = endpoints.api
            configuration.mix = [("😀", 300), ("😢", 200), ("🎉", 17)]
            configuration.interval = .milliseconds(50)
            configuration.batchSize = 97
            configuration.duration = .seconds(2)
            let generator = LoadGenerator(configuration: configuration)
            try await generator.run { _, _ in }
            let totals = generator.totals
            #expect(totals.errors == 0)
            #expect(totals.accepted > 0)

            var seen: [String: Int] = [:]
            var lastSeq: UInt64 = 0
            while seen.values.reduce(0, +) < totals.accepted {
                let burst = try await viewer.next()
                #expect(burst.seq == lastSeq + 1)
                lastSeq = burst.seq
                seen.merge(counts(burst), uniquingKeysWith: +)
            }
            let ticks = totals.accepted / 517
            #expect(seen == ["😀": 300 * ticks, "😢": 200 * ticks, "🎉": 17 * ticks])
        }
    }
}
