import EmoCore
import Metrics
import Node
import Publisher
import Testing

/// Channels through the publisher and a node's hub.
@Suite struct ChannelPipelineTests {
    func partition(_ index: Int, _ channels: [String: [String: Int]]) -> PartitionCounts {
        PartitionCounts(partition: index, channels: channels)
    }

    @Test func everyChannelHasItsOwnBurstAndSeqAndAnIdleChannelHasNone() {
        var assembler = BurstAssembler(sourcePartitions: 2, scaleDown: ScaleDown(scale: 10))
        assembler.add(
            ProcessorReport(
                processor: "p", watermark: 2000, partitions: [0, 1],
                windows: [
                    WindowCounts(
                        start: 0, end: 2000,
                        partitions: [
                            partition(0, ["cricket": ["😀": 5], "concert": ["🔥": 3]]),
                            partition(1, ["cricket": ["😀": 7, "😢": 1]]),
                        ])
                ]))
        let first = assembler.drain()
        #expect(first.map(\.channel) == ["concert", "cricket"])
        #expect(first.map(\.seq) == [1, 1])
        #expect(first[1].emojis == [EmojiCount(emoji: "😀", count: 12, scaled: 2), EmojiCount(emoji: "😢", count: 1, scaled: 1)])

        // Next window: only concert has reactions; cricket (idle) gets no burst and keeps its seq.
        assembler.add(
            ProcessorReport(
                processor: "p", watermark: 4000, partitions: [0, 1],
                windows: [WindowCounts(start: 2000, end: 4000, partitions: [partition(1, ["concert": ["😮": 2]])])]))
        let second = assembler.drain()
        #expect(second.map(\.channel) == ["concert"])
        #expect(second.map(\.seq) == [2])
        // A window with no reactions at all: nothing.
        assembler.add(ProcessorReport(processor: "p", watermark: 6000, partitions: [0, 1], windows: []))
        #expect(assembler.drain().isEmpty)
    }

    @Test func aViewerGetsOnlyItsChannelAndMovesWithAHelloFirst() async {
        let hub = BurstHub(configuration: .init(node: "n"), metrics: NOOPMetricsHandler.instance)
        let viewer = hub.subscribe(channel: "cricket", after: nil)
        let other = hub.subscribe(channel: "concert", after: nil)
        defer {
            viewer.cancel()
            other.cancel()
        }
        #expect(hub.viewersByChannel == ["cricket": 1, "concert": 1])
        func burst(_ channel: String, _ seq: UInt64) -> Burst {
            Burst(channel: channel, seq: seq, windowStart: 0, windowEnd: 2000, counts: ["😀": Int(seq)], scaleDown: ScaleDown())
        }
        hub.publish(burst("concert", 1))
        hub.publish(burst("cricket", 1))
        hub.publish(burst("concert", 2))
        #expect(viewer.move(to: "concert", after: 1) { "hello \($0)" })
        hub.publish(burst("cricket", 2))
        hub.publish(burst("concert", 3))
        #expect(hub.viewersByChannel == ["concert": 2])

        var events: [String] = []
        var iterator = viewer.frames.makeAsyncIterator()
        for _ in 0..<4 {
            switch await iterator.next() {
            case .burst(let frame): events.append("\(frame.channel) \(frame.seq)")
            case .message(let text): events.append(text)
            default: events.append("?")
            }
        }
        // Its cricket burst, the hello with concert's last seq, the replay after 1, then concert only.
        #expect(events == ["cricket 1", "hello 2", "concert 2", "concert 3"])
    }

    @Test func aNodeKeepsRingsForABoundedNumberOfChannelsButAlwaysForWatchedOnes() {
        var configuration = BurstHub.Configuration(node: "n")
        configuration.maxChannelRings = 2
        let hub = BurstHub(configuration: configuration, metrics: NOOPMetricsHandler.instance)
        let viewer = hub.subscribe(channel: "watched", after: nil)
        defer { viewer.cancel() }
        for channel in ["watched", "b", "c", "d", "e"] {
            hub.publish(Burst(channel: channel, seq: 1, windowStart: 0, windowEnd: 2000, counts: ["😀": 1], scaleDown: ScaleDown()))
        }
        let rejoining = hub.subscribe(channel: "watched", after: 0)
        defer { rejoining.cancel() }
        #expect(rejoining.replay.map(\.seq) == [1])
        // Idle channels lost their rings past the limit: at most one of the four still replays.
        let replays = ["b", "c", "d", "e"].map { channel in
            let subscription = hub.subscribe(channel: channel, after: 0)
            defer { subscription.cancel() }
            return subscription.replay.count
        }
        #expect(replays.reduce(0, +) <= 1)
    }
}
