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

/// The ledger: every source offset counted once, whichever report brings it and in whatever order.
@Suite struct BurstAssemblerLedgerTests {
    typealias Counts = [String: [String: Int]]

    /// A report of one processor owning `partitions`, with counts `(window start, partition, from, to, counts)`.
    func report(
        watermark: EpochMillis, partitions: [Int], _ pieces: [(EpochMillis, Int, Int64, Int64, Counts)]
    ) -> ProcessorReport {
        let starts = Set(pieces.map(\.0)).sorted()
        return ProcessorReport(
            processor: "p", watermark: watermark, partitions: partitions,
            windows: starts.map { start in
                WindowCounts(
                    start: start, end: start + 2000,
                    partitions: pieces.filter { $0.0 == start }.map {
                        PartitionCounts(partition: $0.1, channels: $0.4, from: $0.2, to: $0.3)
                    })
            })
    }

    @Test func aReReadWindowThatCoversMoreOfTheLogAddsOnlyTheDifference() {
        // The broker-stall case: the first report of window 0 saw 10 reactions of partition 0; after a failed
        // commit and a rebalance, another processor re-read the partition and reported the window complete: 13.
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        assembler.add(report(watermark: 1000, partitions: [0], [(0, 0, 0, 10, ["main": ["😀": 10]])]))
        assembler.add(report(watermark: 2000, partitions: [0], [(0, 0, 0, 13, ["main": ["😀": 12, "🔥": 1]])]))
        let bursts = assembler.drain()
        #expect(bursts.map(\.total) == [13])
        #expect(assembler.audit.duplicates == 0 && assembler.audit.conflicts == 0)
    }

    @Test func countsArrivingAfterTheirWindowWasPublishedLeaveAsACorrectionNotDropped() {
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        assembler.add(report(watermark: 2000, partitions: [0], [(0, 0, 0, 10, ["main": ["😀": 10]])]))
        #expect(assembler.drain().map(\.total) == [10])
        // The same window re-read with more of the log behind it (it was reported complete too early).
        assembler.add(report(watermark: 4000, partitions: [0], [
            (0, 0, 0, 12, ["main": ["😀": 11, "😢": 1]]), (2000, 0, 12, 15, ["main": ["😀": 3]]),
        ]))
        let bursts = assembler.drain()
        #expect(bursts.map(\.windowStart) == [2000, 0])
        #expect(bursts.map(\.correction) == [false, true])
        #expect(bursts.map(\.seq) == [2, 3])
        #expect(bursts[1].emojis.map(\.emoji).sorted() == ["😀", "😢"] && bursts[1].total == 2)
        #expect(assembler.audit.lateCorrections == 1 && assembler.audit.correctedReactions == 2)
        #expect(assembler.audit.publishedReactions == 15)
        // And the whole stretch again (a third processor after another rebalance) changes nothing.
        assembler.add(report(watermark: 4000, partitions: [0], [
            (0, 0, 0, 12, ["main": ["😀": 11, "😢": 1]]), (2000, 0, 12, 15, ["main": ["😀": 3]]),
        ]))
        #expect(assembler.drain().isEmpty)
        #expect(assembler.audit.duplicates == 2)
    }

    @Test func everyInterleavingOfTwoProcessorsReportsAndTheirDuplicatesPublishesTheSameTotals() {
        // Processor A reported window 0 of partitions 0 and 1 too early and died; B re-read both partitions from the
        // last commit and reported window 0 complete, then windows 2000 and 4000. Each processor's reports reach the
        // publisher in the order it wrote them; how A's and B's interleave, and which get delivered twice, varies.
        let a = report(watermark: 2000, partitions: [0, 1], [(0, 0, 0, 5, ["a": ["😀": 5]]), (0, 1, 0, 2, ["a": ["🔥": 2]])])
        let b = [
            report(watermark: 2500, partitions: [0, 1], [(0, 0, 0, 7, ["a": ["😀": 6, "😢": 1]]), (0, 1, 0, 2, ["a": ["🔥": 2]])]),
            report(watermark: 4000, partitions: [0, 1], [(2000, 0, 7, 9, ["a": ["😀": 2]]), (2000, 1, 2, 6, ["b": ["👏": 4]])]),
            report(watermark: 6000, partitions: [0, 1], [(4000, 1, 6, 7, ["a": ["😀": 1]])]),
        ]
        let reports = [a] + b
        var totals: Set<Int> = []
        for permutation in [[0, 1, 2, 3], [1, 0, 2, 3], [1, 2, 0, 3], [1, 2, 3, 0], [0, 0, 1, 1, 2, 0, 3, 3], [1, 2, 1, 0, 3, 2]] {
            var assembler = BurstAssembler(sourcePartitions: 2, scaleDown: ScaleDown(scale: 1))
            var published = 0
            for index in permutation {
                assembler.add(reports[index])
                published += assembler.drain().map(\.total).reduce(0, +)
            }
            totals.insert(published)
            #expect(assembler.audit.conflicts == 0, "order \(permutation)")
        }
        // 7 + 2 in partition 0, 2 + 4 + 1 in partition 1: every offset once, whatever the interleaving.
        #expect(totals == [16])
    }

    @Test func aRestartedPublisherResumesItsLedgerFromTheBurstsAndCountsNothingTwice() {
        var first = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        let early = report(watermark: 2000, partitions: [0], [(0, 0, 0, 4, ["main": ["😀": 4]])])
        let pending = report(watermark: 2100, partitions: [0], [(2000, 0, 4, 6, ["main": ["😢": 2]])])
        first.add(early)
        first.add(pending)
        #expect(first.drain().map(\.total) == [4])
        // What went into the bursts topic: only the published window's offsets.
        #expect(first.publishedLedger == [0: 4])
        #expect(first.countedLedger == [0: 6])

        // Restarted: it reads both reports again (the second was never committed), and a late correction.
        var second = BurstAssembler(
            sourcePartitions: 1, scaleDown: ScaleDown(scale: 1), lastSeq: ["main": 1], publishedUpTo: 2000,
            ledger: first.publishedLedger)
        second.add(early)
        second.add(pending)
        second.add(report(watermark: 4000, partitions: [0], [(2000, 0, 4, 7, ["main": ["😢": 3]])]))
        let bursts = second.drain()
        #expect(bursts.map(\.total) == [3])
        #expect(bursts.map(\.seq) == [2])
    }

    @Test func aReportThatSkipsOffsetsIsCountedAndAlarmed() {
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        assembler.add(report(watermark: 2000, partitions: [0], [(0, 0, 0, 4, ["main": ["😀": 4]])]))
        assembler.add(report(watermark: 4000, partitions: [0], [(2000, 0, 9, 10, ["main": ["😀": 1]])]))
        #expect(assembler.drain().map(\.total) == [4, 1])
        #expect(assembler.audit.gaps == 1)
    }

    @Test func aSourceTopicCreatedAgainRestartsTheLedgerAndIgnoresItsEarlierIncarnation() {
        var assembler = BurstAssembler(sourcePartitions: 1, scaleDown: ScaleDown(scale: 1))
        var old = report(watermark: 2000, partitions: [0], [(0, 0, 0, 10, ["main": ["😀": 10]])])
        old.epoch = "a"
        assembler.add(old)
        #expect(assembler.drain().map(\.total) == [10])
        // The broker lost its data: the new `emoji` topic's offsets start at 0 again and are new reactions.
        var new = report(watermark: 4000, partitions: [0], [(2000, 0, 0, 3, ["main": ["🔥": 3]])])
        new.epoch = "b"
        assembler.add(new)
        #expect(assembler.drain().map(\.total) == [3])
        #expect(assembler.audit.sourceLogResets == 1 && assembler.audit.duplicates == 0 && assembler.audit.conflicts == 0)
        // A late report of the old incarnation counts nothing and holds nothing back.
        var late = report(watermark: 6000, partitions: [0], [(4000, 0, 10, 12, ["main": ["😢": 2]])])
        late.epoch = "a"
        assembler.add(late)
        #expect(assembler.drain().isEmpty)
        #expect(assembler.audit.staleEpochContributions == 1)
        #expect(assembler.epoch == "b")
    }
}
