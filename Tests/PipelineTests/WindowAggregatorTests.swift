import EmoCore
import Processor
import Testing

@Suite struct WindowAggregatorTests {
    @Test func eachReactionIsCountedOnceInTheWindowOfItsIngestTime() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 2000))
        aggregator.assign([0, 1])
        aggregator.add(partition: 0, offset: 0, timestamp: 1999, channel: "main", emoji: "😀")
        aggregator.add(partition: 1, offset: 0, timestamp: 2000, channel: "main", emoji: "😀")
        aggregator.add(partition: 1, offset: 1, timestamp: 3999, channel: "main", emoji: "😢")
        aggregator.add(partition: 0, offset: 1, timestamp: 4000, channel: "other", emoji: "🔥")

        let firstResult = aggregator.close(upTo: 2000, processor: "p")
        let first = try #require(firstResult)
        #expect(first.windows.map(\.start) == [0])
        #expect(first.windows[0].partitions == [PartitionCounts(partition: 0, channels: ["main": ["😀": 1]], from: 0, to: 1)])
        #expect(first.partitions == [0, 1])
        #expect(first.watermark == 2000)
        // Offsets of still-open windows are not committable.
        #expect(aggregator.committableOffsets() == [0: 1, 1: 0])

        #expect(aggregator.close(upTo: 2500, processor: "p") == nil)  // no boundary crossed, nothing to close

        let secondResult = aggregator.close(upTo: 6000, processor: "p")
        let second = try #require(secondResult)
        #expect(second.windows.map(\.start) == [2000, 4000])
        #expect(second.windows[0].partitions == [PartitionCounts(partition: 1, channels: ["main": ["😀": 1, "😢": 1]], from: 0, to: 2)])
        #expect(second.windows[1].partitions == [PartitionCounts(partition: 0, channels: ["other": ["🔥": 1]], from: 1, to: 2)])
        #expect(aggregator.committableOffsets() == [0: 2, 1: 2])
        #expect(aggregator.openWindowCount == 0)
    }

    @Test func anIdleProcessorStillReportsProgressOncePerWindow() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([3])
        let reportResult = aggregator.close(upTo: 10_500, processor: "p")
        let report = try #require(reportResult)
        #expect(report.windows.isEmpty)
        #expect(report.partitions == [3])
        #expect(aggregator.close(upTo: 10_900, processor: "p") == nil)
        #expect(aggregator.close(upTo: 11_000, processor: "p") != nil)
    }

    @Test func partitionsGivenAwayAreForgotten() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0, 1])
        aggregator.add(partition: 0, offset: 5, timestamp: 100, channel: "main", emoji: "😀")
        aggregator.add(partition: 1, offset: 7, timestamp: 100, channel: "main", emoji: "😀")
        aggregator.assign([1])
        let reportResult = aggregator.close(upTo: 1000, processor: "p")
        let report = try #require(reportResult)
        #expect(report.windows.first?.partitions.map(\.partition) == [1])
    }

    @Test func aNewGenerationDropsEverythingUncommittedSoReReadRecordsCountOnce() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0], generation: 1)
        aggregator.add(partition: 0, offset: 0, timestamp: 100, channel: "main", emoji: "😀")
        _ = aggregator.close(upTo: 1000, processor: "p")
        aggregator.add(partition: 0, offset: 1, timestamp: 1100, channel: "main", emoji: "😀")
        // A rebalance gave the same partition back: the consumer re-reads from the committed offset (1).
        aggregator.assign([0], generation: 2)
        #expect(aggregator.openWindowCount == 0)
        aggregator.add(partition: 0, offset: 1, timestamp: 1100, channel: "main", emoji: "😀")
        let result = aggregator.close(upTo: 2000, processor: "p")
        let report = try #require(result)
        #expect(report.windows.map(\.start) == [1000])
        #expect(report.windows[0].partitions == [PartitionCounts(partition: 0, channels: ["main": ["😀": 1]], from: 1, to: 2)])
        #expect(aggregator.lateReactions == 0)
    }

    @Test func aReactionArrivingAfterItsWindowClosedIsReportedForItsOwnWindowAsACorrection() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0])
        _ = aggregator.close(upTo: 2500, processor: "p")
        aggregator.add(partition: 0, offset: 0, timestamp: 1500, channel: "main", emoji: "😢")
        #expect(aggregator.lateReactions == 1)
        let result = aggregator.close(upTo: 3000, processor: "p")
        let report = try #require(result)
        // Its own window, with the offsets it covers: the publisher publishes it as a correction of that window.
        #expect(report.windows.map(\.start) == [1000])
        #expect(report.windows[0].partitions == [PartitionCounts(partition: 0, channels: ["main": ["😢": 1]], from: 0, to: 1)])
    }

    @Test func withinAPartitionWindowsNeverGoBackSoEachWindowIsOneRunOfOffsets() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0])
        aggregator.add(partition: 0, offset: 10, timestamp: 100, channel: "main", emoji: "😀")
        aggregator.add(partition: 0, offset: 11, timestamp: 1100, channel: "main", emoji: "😀")
        // Stamped a little earlier than the record before it (an inversion between two appends): still window 1000.
        aggregator.add(partition: 0, offset: 12, timestamp: 990, channel: "main", emoji: "😢")
        aggregator.skip(partition: 0, offset: 13, timestamp: 1200)  // undecodable: counts nothing, covers its offset
        #expect(aggregator.committableOffsets() == [0: 10])
        let result = aggregator.close(upTo: 2000, processor: "p")
        let report = try #require(result)
        #expect(report.windows.map(\.start) == [0, 1000])
        #expect(report.windows[0].partitions == [PartitionCounts(partition: 0, channels: ["main": ["😀": 1]], from: 10, to: 11)])
        #expect(report.windows[1].partitions == [PartitionCounts(partition: 0, channels: ["main": ["😀": 1, "😢": 1]], from: 11, to: 14)])
        #expect(aggregator.committableOffsets() == [0: 14])
    }

    @Test func oneRecordOfAWholeRequestCountsEveryReactionItHolds() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0])
        let request = [(channel: "main", emoji: "😀"), (channel: "main", emoji: "😀"), (channel: "cricket", emoji: "🔥")]
        aggregator.add(partition: 0, offset: 0, timestamp: 10, reactions: request)
        let result = aggregator.close(upTo: 1000, processor: "p")
        let report = try #require(result)
        #expect(report.windows[0].partitions == [
            PartitionCounts(partition: 0, channels: ["main": ["😀": 2], "cricket": ["🔥": 1]], from: 0, to: 1)
        ])
    }
}
