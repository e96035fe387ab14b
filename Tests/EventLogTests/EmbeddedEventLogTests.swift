import EventLog
import NIOCore
import Testing

@Suite struct EmbeddedEventLogTests {
    func record(_ value: String, key: String? = nil, partition: Int? = nil) -> LogRecord {
        LogRecord(key: key.map { ByteBuffer(string: $0) }, value: ByteBuffer(string: value), partition: partition)
    }

    func values(_ poll: PollResult) -> [String] {
        poll.records.map { String(buffer: $0.value) }
    }

    @Test func appendedRecordsAreReadInOrderWithOffsets() async throws {
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 1)
        try await log.append((0..<5).map { record("r\($0)") }, to: "t")
        let consumer = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g"))
        let poll = try await consumer.poll(maxWait: .zero)
        #expect(values(poll) == ["r0", "r1", "r2", "r3", "r4"])
        #expect(poll.records.map(\.offset) == [0, 1, 2, 3, 4])
        #expect(poll.assignment == [0])
    }

    @Test func keysPickTheSamePartitionAsKafka() {
        // Vectors of org.apache.kafka.common.utils.UtilsTest#testMurmur2.
        let cases: [(String, Int32)] = [
            ("21", -973_932_308), ("foobar", -790_332_482), ("a-little-bit-long-string", -985_981_536),
            ("a-little-bit-longer-string", -1_486_304_829),
            ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971), ("abc", 479_470_107),
        ]
        for (key, expected) in cases {
            #expect(Int32(bitPattern: Partitioner.murmur2(Array(key.utf8))) == expected, "\(key)")
        }
    }

    @Test func oneAppendIsStampedOnceAndStampsNeverGoBack() async throws {
        let clock = ManualClock(start: 5000)
        let log = EmbeddedEventLog(wallClock: { clock.now })
        try await log.ensureTopic("t", partitions: 4)
        let first = try await log.append((0..<100).map { record("a", key: "user-\($0)") }, to: "t")
        clock.set(4000)  // wall clock stepped back
        let second = try await log.append([record("b")], to: "t")
        #expect(first.timestamp == 5000)
        #expect(second.timestamp == 5000)
        let consumer = try log.makeConsumer(ConsumerOptions(topic: "t"))
        let poll = try await consumer.poll(maxWait: .zero)
        #expect(poll.records.count == 101)
        #expect(Set(poll.records.map(\.timestamp)) == [5000])
        #expect(Set(poll.records.map(\.partition)).count > 1)
    }

    @Test func watermarkIsNowWhenCaughtUpAndTheNextUnreadRecordOtherwise() async throws {
        let clock = ManualClock(start: 1000)
        let log = EmbeddedEventLog(wallClock: { clock.now })
        try await log.ensureTopic("t", partitions: 1)
        try await log.append([record("a")], to: "t")
        clock.set(2000)
        try await log.append([record("b")], to: "t")
        let consumer = try log.makeConsumer(ConsumerOptions(topic: "t", maxRecordsPerPoll: 1))
        clock.set(3000)
        let first = try await consumer.poll(maxWait: .zero)
        #expect(values(first) == ["a"])
        #expect(first.watermark == 2000)
        let second = try await consumer.poll(maxWait: .zero)
        #expect(second.watermark == 3000)
        // Anything appended after a watermark was handed out is stamped at or after it.
        clock.set(2500)
        let late = try await log.append([record("c")], to: "t")
        #expect(late.timestamp >= 3000)
    }

    @Test func aLongPollWakesUpOnAppend() async throws {
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 2)
        let consumer = try log.makeConsumer(ConsumerOptions(topic: "t"))
        _ = try await consumer.poll(maxWait: .zero)
        async let poll = consumer.poll(maxWait: .seconds(60))
        try await log.append([record("x")], to: "t")
        #expect(values(try await poll) == ["x"])
    }

    @Test func aFullTopicPushesBackUntilConsumersCommit() async throws {
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 4, appendTimeout: .seconds(60)))
        try await log.ensureTopic("t", partitions: 1)
        let consumer = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g"))
        try await log.append((0..<4).map { record("r\($0)") }, to: "t")
        async let blocked = log.append([record("r4")], to: "t")
        let poll = try await consumer.poll(maxWait: .zero)
        #expect(poll.records.count == 4)
        try await consumer.commit([0: 2])
        #expect(try await blocked.count == 1)
        #expect(log.retainedCounts(of: "t") == [3])
    }

    @Test func aFullTopicFailsAfterTheAppendTimeoutAndKeepsNothingOfTheBatch() async throws {
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 3, appendTimeout: .milliseconds(20)))
        try await log.ensureTopic("t", partitions: 1)
        _ = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g"))
        try await log.append([record("a"), record("b")], to: "t")
        await #expect(throws: EventLogError.full(topic: "t")) {
            try await log.append([record("c"), record("d")], to: "t")
        }
        #expect(log.retainedCounts(of: "t") == [2])
        await #expect(throws: EventLogError.appendTooLarge(topic: "t", count: 4, capacity: 3)) {
            try await log.append((0..<4).map { record("\($0)") }, to: "t")
        }
    }

    @Test func groupMembersSharePartitionsAndResumeFromCommits() async throws {
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 4)
        for partition in 0..<4 {
            try await log.append([record("p\(partition)-0", partition: partition), record("p\(partition)-1", partition: partition)], to: "t")
        }
        let a = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "a"))
        let b = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "b"))
        let pollA = try await a.poll(maxWait: .zero)
        let pollB = try await b.poll(maxWait: .zero)
        #expect(pollA.assignment == [0, 1])
        #expect(pollB.assignment == [2, 3])
        #expect(pollA.records.count + pollB.records.count == 8)
        try await a.commit([0: 1, 1: 2])
        a.close()
        // b takes over a's partitions from a's committed offsets: p0-1 again, nothing of p1.
        let takeover = try await b.poll(maxWait: .zero)
        #expect(takeover.assignment == [0, 1, 2, 3])
        #expect(values(takeover) == ["p0-1", "p2-0", "p2-1", "p3-0", "p3-1"])
    }

    @Test func dropOldestTopicsKeepTheNewestAndReadersSkipAhead() async throws {
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 3))
        try await log.ensureTopic(TopicSpec(name: "ring", partitions: 1, retention: .dropOldest))
        let reader = try log.makeConsumer(ConsumerOptions(topic: "ring"))
        try await log.append((0..<5).map { record("r\($0)") }, to: "ring")
        let poll = try await reader.poll(maxWait: .zero)
        #expect(values(poll) == ["r2", "r3", "r4"])
        let tail = try log.makeConsumer(ConsumerOptions(topic: "ring", start: .tail(2)))
        #expect(values(try await tail.poll(maxWait: .zero)) == ["r3", "r4"])
        let latest = try log.makeConsumer(ConsumerOptions(topic: "ring", start: .latest))
        #expect(try await latest.poll(maxWait: .zero).records.isEmpty)
    }

    @Test func unknownTopicsAndPartitionsAreErrors() async throws {
        let log = EmbeddedEventLog()
        await #expect(throws: EventLogError.unknownTopic("nope")) { try await log.append([record("x")], to: "nope") }
        try await log.ensureTopic("t", partitions: 2)
        await #expect(throws: EventLogError.invalidPartition(topic: "t", partition: 2)) {
            try await log.append([record("x", partition: 2)], to: "t")
        }
    }
}

/// A settable wall clock for tests.
final class ManualClock: Sendable {
    private let value: Mutex<Int64>
    init(start: Int64) { value = Mutex(start) }
    var now: Int64 { value.withLock { $0 } }
    func set(_ millis: Int64) { value.withLock { $0 = millis } }
}

import Synchronization

@Suite struct ScopedConsumerTests {
    @Test func aScopedConsumerLeavesItsGroupWhenItsScopeEnds() async throws {
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 2)
        let other = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "other"))
        let inside = try await log.withConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "scoped")) { consumer in
            _ = try await other.poll(maxWait: .zero)
            return try await consumer.poll(maxWait: .zero).assignment
        }
        #expect(inside == [1])
        #expect(try await other.poll(maxWait: .zero).assignment == [0, 1])
    }

    @Test func aScopedConsumerLeavesItsGroupWhenItsBodyThrows() async throws {
        struct Failure: Error {}
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 2)
        let other = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "other"))
        await #expect(throws: Failure.self) {
            try await log.withConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "scoped")) { consumer in
                _ = try await consumer.poll(maxWait: .zero)
                throw Failure()
            }
        }
        #expect(try await other.poll(maxWait: .zero).assignment == [0, 1])
    }
}

extension EmbeddedEventLogTests {
    @Test func metadataCommittedWithAnOffsetReachesThePartitionsNextOwner() async throws {
        let log = EmbeddedEventLog()
        try await log.ensureTopic("t", partitions: 2)
        let a = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "a"))
        let first = try await a.poll(maxWait: .zero)
        #expect(first.assignment == [0, 1])
        #expect(first.committedMetadata.isEmpty)
        try await a.commit([0: 0, 1: 0], metadata: [1: "count-from=7"])
        a.close()
        let b = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "b"))
        let takeover = try await b.poll(maxWait: .zero)
        #expect(takeover.assignment == [0, 1])
        #expect(takeover.committedMetadata == [1: "count-from=7"])
        // A commit without metadata clears it.
        try await b.commit([1: 0])
        b.close()
        let c = try log.makeConsumer(ConsumerOptions(topic: "t", group: "g", clientID: "c"))
        #expect(try await c.poll(maxWait: .zero).committedMetadata.isEmpty)
    }
}
