import EmoCore
import Publisher
import Testing

@Suite struct BurstAssemblerTests {
    func report(
        _ processor: String, watermark: EpochMillis, partitions: [Int], _ windows: [(EpochMillis, [Int: [String: [String: Int]]])]
    ) -> ProcessorReport {
        ProcessorReport(
            processor: processor, watermark: watermark, partitions: partitions,
            windows: windows.map { start, counts in
                WindowCounts(
                    start: start, end: start + 2000,
                    partitions: counts.keys.sorted().map { PartitionCounts(partition: $0, channels: counts[$0]!) })
            })
    }

    @Test func mergesProcessorsIntoOneBurstOnceEveryPartitionIsComplete() {
        var assembler = BurstAssembler(sourcePartitions: 4, scaleDown: ScaleDown())
        assembler.add(report("a", watermark: 2000, partitions: [0, 1], [(0, [0: ["main": ["😀": 300]], 1: ["main": ["😀": 150, "😢": 20]]])]))
        #expect(assembler.drain().isEmpty)  // partitions 2 and 3 have not reported
        assembler.add(report("b", watermark: 2100, partitions: [2, 3], [(0, [3: ["main": ["😢": 100, "🔥": 7]]])]))
        let bursts = assembler.drain()
        #expect(bursts.count == 1)
        #expect(bursts[0].seq == 1)
        #expect(bursts[0].total == 577)
        #expect(bursts[0].emojis == [
            EmojiCount(emoji: "😀", count: 450, scaled: 5), EmojiCount(emoji: "😢", count: 120, scaled: 2),
            EmojiCount(emoji: "🔥", count: 7, scaled: 1),
        ])
    }

    @Test func aReEmittedWindowIsCountedOnce() {
        var assembler = BurstAssembler(sourcePartitions: 2, scaleDown: ScaleDown())
        let window: [Int: [String: [String: Int]]] = [0: ["main": ["😀": 10]], 1: ["main": ["😀": 5]]]
        assembler.add(report("a", watermark: 1000, partitions: [0, 1], [(0, [0: window[0]!])]))
        // "a" died; "b" re-read both partitions and re-emits the window with both.
        let duplicates = assembler.add(report("b", watermark: 2000, partitions: [0, 1], [(0, window)]))
        #expect(duplicates == 1)
        let bursts = assembler.drain()
        #expect(bursts.map(\.total) == [15])
        // And a late copy of an already published window changes nothing.
        #expect(assembler.add(report("a", watermark: 2000, partitions: [0, 1], [(0, window)])) == 2)
        #expect(assembler.drain().isEmpty)
    }

    @Test func windowsComeOutInOrderWithIncreasingSeqPerChannel() {
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        assembler.add(report("a", watermark: 6000, partitions: [0], [
            (2000, [0: ["main": ["😀": 2], "talk": ["👏": 1]]]), (0, [0: ["main": ["😀": 1]]]),
            (4000, [0: ["main": ["😢": 3]]]),
        ]))
        let bursts = assembler.drain()
        #expect(bursts.map(\.windowStart) == [0, 2000, 2000, 4000])
        #expect(bursts.map(\.channel) == ["main", "main", "talk", "main"])
        #expect(bursts.map(\.seq) == [1, 2, 1, 3])
    }

    @Test func emptyWindowsAndFloorDroppedWindowsProduceNoBurst() {
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 100, mode: .floor))
        assembler.add(report("a", watermark: 4000, partitions: [0], [(2000, [0: ["main": ["😀": 99]]])]))
        // Every type below the scale is dropped in floor mode: nothing to show, no burst, no seq used.
        #expect(assembler.drain().isEmpty)
        assembler.add(report("a", watermark: 8000, partitions: [0], [(4000, [0: ["main": ["😀": 100]]])]))
        #expect(assembler.drain().map(\.seq) == [1])
        assembler.add(report("a", watermark: 12000, partitions: [0], []))
        #expect(assembler.drain().isEmpty)
    }
}
