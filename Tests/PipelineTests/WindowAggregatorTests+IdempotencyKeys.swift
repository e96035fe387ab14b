import EmoCore
import Processor
import Testing

/// Requests retried with their idempotency key count once, through a change of the partition's owner too.
extension WindowAggregatorTests {
    static func key(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func aRequestRepeatedWithinTheHorizonCountsOnceAndAfterItAgain() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 2000))
        aggregator.assign([0])
        let two = [(channel: "main", emoji: "😀"), (channel: "main", emoji: "😀")]
        aggregator.add(partition: 0, offset: 0, timestamp: 1_000, key: Self.key("a"), reactions: two)
        aggregator.add(partition: 0, offset: 1, timestamp: 1_500, key: Self.key("a"), reactions: two)
        aggregator.add(partition: 0, offset: 2, timestamp: 1_600, key: Self.key("b"), reactions: two)
        aggregator.add(partition: 0, offset: 3, timestamp: 1_700, reactions: two)
        let firstReport = aggregator.close(upTo: 2_000, processor: "p")
        let first = try #require(firstReport)
        #expect(first.windows.map(\.partitions) == [[PartitionCounts(partition: 0, channels: ["main": ["😀": 6]], from: 0, to: 4)]])
        #expect(aggregator.repeatedRequests == 1)
        #expect(aggregator.repeatedReactions == 2)
        // The horizon runs from the latest record with the key (the repeat at 1,500 included).
        aggregator.add(partition: 0, offset: 4, timestamp: 1_500 + RequestKeyHistory.horizonMillis, key: Self.key("a"), reactions: two)
        aggregator.add(partition: 0, offset: 5, timestamp: 1_501 + RequestKeyHistory.horizonMillis * 2, key: Self.key("a"), reactions: two)
        let laterReport = aggregator.close(upTo: 200_000, processor: "p")
        let later = try #require(laterReport)
        #expect(later.windows.flatMap(\.partitions).map { $0.channels["main"]?["😀"] } == [nil, 2])
        #expect(aggregator.repeatedRequests == 2)
    }

    @Test func theCommitGoesBackToTheOldestKeyStillNeededAndSaysWhereCountingResumes() throws {
        var aggregator = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        aggregator.assign([0])
        for offset in 0..<10 {
            aggregator.add(
                partition: 0, offset: Int64(offset), timestamp: 100 + Int64(offset) * 10,
                key: offset == 3 || offset == 6 ? Self.key("k\(offset)") : nil, reactions: [(channel: "main", emoji: "😀")])
        }
        _ = aggregator.close(upTo: 1_000, processor: "p")
        #expect(aggregator.commits() == [0: .init(offset: 3, countFrom: 10)])
        #expect(aggregator.committableOffsets() == [0: 10])

        // The next owner reads from offset 3 for the keys, counts from 10, and knows k6 when it is retried.
        var next = WindowAggregator(window: WindowSpec(lengthMillis: 1000))
        next.assign([0], generation: 1, countFrom: [0: 10])
        #expect(next.commits().isEmpty)  // nothing read yet: the committed offsets stay
        for offset in 3..<7 {
            next.add(
                partition: 0, offset: Int64(offset), timestamp: 100 + Int64(offset) * 10,
                key: offset == 3 || offset == 6 ? Self.key("k\(offset)") : nil, reactions: [(channel: "main", emoji: "😀")])
        }
        #expect(next.commits() == [0: .init(offset: 3, countFrom: 10)])
        for offset in 7..<10 {
            next.add(partition: 0, offset: Int64(offset), timestamp: 100 + Int64(offset) * 10, reactions: [(channel: "main", emoji: "😀")])
        }
        next.add(partition: 0, offset: 10, timestamp: 1_100, key: Self.key("k6"), reactions: [(channel: "main", emoji: "😀")])
        next.add(partition: 0, offset: 11, timestamp: 1_110, key: Self.key("k11"), reactions: [(channel: "main", emoji: "🔥")])
        let closed = next.close(upTo: 2_000, processor: "q")
        let report = try #require(closed)
        #expect(report.windows.flatMap(\.partitions) == [PartitionCounts(partition: 0, channels: ["main": ["🔥": 1]], from: 10, to: 12)])
        #expect(next.repeatedRequests == 1)
        #expect(next.commits() == [0: .init(offset: 3, countFrom: 12)])
    }

    /// Whenever a partition changes owner, the new owner (reading from the commit) counts every record after the
    /// commit's `countFrom` exactly as the old owner would have.
    @Test(arguments: [40, 120, 333, 520])
    func aNewOwnerJudgesRepeatsAsTheOldOneWould(handoverAt: Int) throws {
        var random = SplitMix(seed: UInt64(handoverAt))
        let records: [(timestamp: EpochMillis, key: [UInt8]?, emoji: String)] = (0..<600).map { index in
            let key: [UInt8]? = random.next() % 3 == 0 ? nil : Self.key("r\(random.next() % 40)")
            return (1_000 + EpochMillis(index) * 400 + EpochMillis(random.next() % 300), key, random.next() % 2 == 0 ? "😀" : "🔥")
        }
        func feed(_ aggregator: inout WindowAggregator, _ range: Range<Int>, finish: Bool = true) -> [PartitionCounts] {
            var pieces: [PartitionCounts] = []
            for index in range {
                let record = records[index]
                aggregator.add(
                    partition: 0, offset: Int64(index), timestamp: record.timestamp, key: record.key,
                    reactions: [(channel: "main", emoji: record.emoji)])
                if let report = aggregator.close(upTo: record.timestamp - 1_000, processor: "p") {
                    pieces += report.windows.flatMap(\.partitions)
                }
            }
            if finish, let report = aggregator.close(upTo: .max / 2, processor: "p") {
                pieces += report.windows.flatMap(\.partitions)
            }
            return pieces
        }
        var whole = WindowAggregator(window: WindowSpec(lengthMillis: 2000))
        whole.assign([0])
        let all = feed(&whole, 0..<records.count)

        var first = WindowAggregator(window: WindowSpec(lengthMillis: 2000))
        first.assign([0])
        _ = feed(&first, 0..<handoverAt, finish: false)
        let commit = try #require(first.commits()[0])
        let countFrom = commit.countFrom ?? commit.offset
        var second = WindowAggregator(window: WindowSpec(lengthMillis: 2000))
        second.assign([0], generation: 1, countFrom: commit.countFrom.map { [0: $0] } ?? [:])
        let resumed = feed(&second, Int(commit.offset)..<records.count)

        func total(_ pieces: [PartitionCounts]) -> [String: Int] {
            pieces.reduce(into: [:]) { $0.merge($1.channels["main"] ?? [:], uniquingKeysWith: +) }
        }
        #expect(resumed.allSatisfy { $0.from! >= countFrom })
        #expect(total(resumed) == total(all.filter { $0.from! >= countFrom }))
        #expect(whole.repeatedRequests > 0)
    }
}

/// A small deterministic generator for repeatable "random" tests.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
