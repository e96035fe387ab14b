import EmoTestSupport
import EmoCore
import EventLog
import Metrics
import NIOCore
import Node
import PipelineTopics
import Testing

/// `BurstFeed`: from the `publisher-emojis` topic of a real embedded log into a node's hub.
@Suite struct BurstFeedTests {
    func pipelineLog() async throws -> EmbeddedEventLog {
        let log = EmbeddedEventLog()
        for spec in PipelineTopics.specs(reactionPartitions: 1) { try await log.ensureTopic(spec) }
        return log
    }

    func record(_ channel: String, seq: UInt64, frame: String) -> BurstRecord {
        BurstRecord(channel: channel, seq: seq, windowStart: 0, windowEnd: 2_000, total: 3, frame: ByteBuffer(string: frame))
    }

    @Test func forwardsEachBurstToItsChannelsViewersWithThePublishersBytes() async throws {
        let log = try await pipelineLog()
        let hub = BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance)
        let feed = BurstFeed(log: log, hub: hub, logger: quietLogger, metrics: NOOPMetricsHandler.instance)
        let viewer = hub.subscribe(channel: "main", after: nil)
        defer { viewer.cancel() }
        let main = record("main", seq: 1, frame: #"{"type":"burst",  "seq":1, "channel":"main"}"#)
        let cricket = record("cricket", seq: 1, frame: #"{"type":"burst","seq":1,"channel":"cricket"}"#)

        try await withServices([feed]) {
            try await log.append([cricket, main], to: PipelineTopics.bursts)
            let frame = try await nextBurst(viewer)
            #expect(frame.channel == "main")
            #expect(frame.seq == 1)
            #expect(frame.payload == main.frame)
            #expect(frame.sseEvent == ByteBuffer(string: "id: 1\ndata: " + String(buffer: main.frame) + "\n\n"))
            // The other channel's burst reached the hub too (its ring), not this viewer.
            #expect(hub.lastSeq(channel: "cricket") == 1)

            try await log.append([record("main", seq: 2, frame: #"{"seq":2}"#)], to: PipelineTopics.bursts)
            #expect(try await nextBurst(viewer).seq == 2)
        }
    }

    @Test func replaysTheBurstsAlreadyInTheTopicWhenItStarts() async throws {
        // A node that starts after the publisher: `?after=` must work at once.
        let log = try await pipelineLog()
        try await log.append(
            (1...3).map { record("main", seq: $0, frame: #"{"seq":\#($0)}"#) }, to: PipelineTopics.bursts)
        let hub = BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance)
        let feed = BurstFeed(log: log, hub: hub, logger: quietLogger, metrics: NOOPMetricsHandler.instance)
        let live = hub.subscribe(channel: "main", after: nil)
        defer { live.cancel() }
        try await withServices([feed]) { () async throws in
            #expect(try await nextBurst(live).seq == 1)
            #expect(try await nextBurst(live).seq == 2)
            #expect(try await nextBurst(live).seq == 3)
            let reconnecting = hub.subscribe(channel: "main", after: 1)
            defer { reconnecting.cancel() }
            #expect(reconnecting.replay.map(\.seq) == [2, 3])
            #expect(reconnecting.replay.map(\.payload) == [ByteBuffer(string: #"{"seq":2}"#), ByteBuffer(string: #"{"seq":3}"#)])
        }
    }

    @Test func endsWhenItsTaskIsCancelled() async throws {
        let log = try await pipelineLog()
        let hub = BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance)
        let feed = BurstFeed(log: log, hub: hub, logger: quietLogger, metrics: NOOPMetricsHandler.instance)
        let viewer = hub.subscribe(channel: "main", after: nil)
        defer { viewer.cancel() }
        try await withDeadline("the cancelled feed to end") {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await feed.run() }
                // Running: it forwards a burst.
                try await log.append([record("main", seq: 1, frame: "{}")], to: PipelineTopics.bursts)
                #expect(try await nextBurst(viewer).seq == 1)
                group.cancelAll()
                try await group.waitForAll()
            }
        }
    }

    @Test func sendsKeepalivesToIdleViewers() async throws {
        let log = try await pipelineLog()
        let hub = BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance)
        let feed = BurstFeed(
            log: log, hub: hub, logger: quietLogger, metrics: NOOPMetricsHandler.instance, keepaliveInterval: .milliseconds(20))
        let viewer = hub.subscribe(channel: "main", after: nil)
        defer { viewer.cancel() }
        try await withServices([feed]) {
            let event = try await withDeadline("a keepalive") {
                var events = viewer.frames.makeAsyncIterator()
                return await events.next()
            }
            guard case .keepalive = event else {
                Issue.record("expected a keepalive, got \(String(describing: event))")
                return
            }
        }
    }
}

/// The next burst a viewer's connection would write (keepalives and messages skipped).
func nextBurst(_ viewer: ViewerSubscription) async throws -> BurstFrame {
    try await withDeadline("a burst") {
        var events = viewer.frames.makeAsyncIterator()
        while let event = await events.next() {
            if case .burst(let frame) = event { return frame }
        }
        throw TimedOut(what: "a burst (the viewer's stream ended)")
    }
}
