import EmoCore
import Metrics
import Node
import Testing

@Suite struct BurstHubTests {
    func burst(_ seq: UInt64, channel: String = "main") -> Burst {
        Burst(channel: channel, seq: seq, windowStart: 0, windowEnd: 2000, counts: ["😀": 1], scaleDown: ScaleDown())
    }

    func seqs(_ events: [ViewerEvent]) -> [UInt64] {
        events.compactMap { if case .burst(let frame) = $0 { frame.seq } else { nil } }
    }

    @Test func aViewerThatDoesNotReadNeverHoldsUpTheOthers() async {
        let hub = BurstHub(configuration: .init(node: "n", viewerBuffer: 4), metrics: NOOPMetricsHandler.instance)
        let stalled = hub.subscribe(channel: "main", after: nil)
        let reader = hub.subscribe(channel: "main", after: nil)
        var received: [UInt64] = []
        var iterator = reader.frames.makeAsyncIterator()
        for seq in 1...1000 as ClosedRange<UInt64> {
            hub.publish(burst(seq))  // never waits for `stalled`
            if case .burst(let frame) = await iterator.next() { received.append(frame.seq) }
        }
        #expect(received == Array(1...1000))
        // The stalled viewer holds only its newest 4 bursts.
        stalled.cancel()
        var kept: [ViewerEvent] = []
        for await event in stalled.frames { kept.append(event) }
        #expect(seqs(kept) == [997, 998, 999, 1000])
    }

    @Test func aViewerThatStaysStalledIsDisconnected() async {
        let hub = BurstHub(
            configuration: .init(node: "n", viewerBuffer: 1, stallTimeout: .zero), metrics: NOOPMetricsHandler.instance)
        let stalled = hub.subscribe(channel: "main", after: nil)
        hub.publish(burst(1))
        hub.publish(burst(2))  // first drop: the stall clock starts
        hub.publish(burst(3))  // still no progress: disconnected
        for await _ in stalled.closed {}
        #expect(hub.viewerCount == 0)
    }

    @Test func reconnectingViewersGetTheBurstsAfterTheirLastSeq() async {
        let hub = BurstHub(configuration: .init(node: "n", ringCapacity: 3), metrics: NOOPMetricsHandler.instance)
        for seq in 1...5 as ClosedRange<UInt64> { hub.publish(burst(seq)) }
        hub.publish(burst(4))  // a duplicate is ignored
        let viewer = hub.subscribe(channel: "main", after: 3)
        #expect(viewer.lastSeq == 5)
        #expect(viewer.replay.map(\.seq) == [4, 5])
        let tooOld = hub.subscribe(channel: "main", after: 0)
        #expect(tooOld.replay.map(\.seq) == [3, 4, 5])
        let fresh = hub.subscribe(channel: "main", after: nil)
        #expect(fresh.replay.isEmpty)
    }

    @Test func viewersOnlyReceiveTheirChannel() async {
        let hub = BurstHub(configuration: .init(node: "n"), metrics: NOOPMetricsHandler.instance)
        let a = hub.subscribe(channel: "a", after: nil)
        let b = hub.subscribe(channel: "b", after: nil)
        hub.publish(burst(1, channel: "b"))
        hub.publish(burst(1, channel: "a"))
        var iteratorA = a.frames.makeAsyncIterator()
        var iteratorB = b.frames.makeAsyncIterator()
        guard case .burst(let frameA) = await iteratorA.next(), case .burst(let frameB) = await iteratorB.next() else {
            Issue.record("no burst")
            return
        }
        #expect(frameA.channel == "a")
        #expect(frameB.channel == "b")
    }
}
