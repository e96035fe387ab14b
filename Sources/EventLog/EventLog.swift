import Foundation
import NIOCore

/// A partitioned, append-only event log with topics, offsets and consumer positions: the backbone between
/// ingest, stream processors, the main publisher and the cluster nodes.
///
/// Two implementations sit behind it: ``EmbeddedEventLog`` (in-process, bounded, for one machine) and a
/// Kafka-backed log for a fleet.
///
/// The log knows no topic by name: what a topic is (partitions, retention, how its appends are batched) comes with
/// ``ensureTopic(_:)``, and what its records mean is the ``Topic`` that writers and readers share.
public protocol EventLog: Sendable {
    /// Creates the topic if it does not exist (idempotent) and records how it is kept and batched.
    func ensureTopic(_ spec: TopicSpec) async throws
    func partitionCount(of topic: String) async throws -> Int
    /// Appends all records or none. Returns once the records are accepted by the log; a full log makes the
    /// caller wait (backpressure) and eventually fail with ``EventLogError/full(topic:)``.
    @discardableResult
    func append(_ records: [LogRecord], to topic: String) async throws -> AppendReceipt
    /// Runs `body` with a consumer of one topic, in a group (sharing partitions, committed offsets) or alone. The
    /// consumer's background work runs as a child task of this call and ends with it (leaving the group); nothing
    /// outlives the scope and there is nothing to close.
    func withConsumer<Result>(
        _ options: ConsumerOptions, _ body: (any LogConsumer) async throws -> Result
    ) async throws -> Result
    /// Whether the log is available now (cheap enough for every `/healthz`; implementations cache a probe).
    func health() async -> LogHealth
}

extension EventLog {
    /// An in-process log is available whenever the process is.
    public func health() async -> LogHealth { .available }
}

/// Whether a log can take appends and serve reads now, for `/healthz`.
public struct LogHealth: Sendable, Equatable {
    /// nil when the log is available; otherwise what is wrong (the broker cannot be reached, topics are missing…).
    public var problem: String?

    public init(problem: String? = nil) {
        self.problem = problem
    }

    public static let available = LogHealth()
    public var isAvailable: Bool { problem == nil }
}

extension EventLog {
    /// Creates a topic with the default retention and batching (see ``TopicSpec``).
    public func ensureTopic(_ name: String, partitions: Int) async throws {
        try await ensureTopic(TopicSpec(name: name, partitions: partitions))
    }
}

/// What a log needs to know of a topic, given when it is created.
public struct TopicSpec: Sendable, Equatable {
    public enum Retention: Sendable, Equatable {
        /// Keep records until every consumer has moved past them (the embedded log makes appends wait when a
        /// partition is full; Kafka keeps them for the broker's retention).
        case untilConsumed
        /// Keep the newest records only; older ones are dropped and slow readers skip ahead.
        case dropOldest
    }

    /// How appends to the topic are batched on their way to the log.
    public enum Delivery: Sendable, Equatable {
        /// Many small records (reactions): batched per partition under load.
        case bulk
        /// Few records whose latency matters (window reports, bursts): sent at once.
        case prompt
    }

    /// Which time a record's timestamp is.
    public enum Timestamps: Sendable, Equatable {
        /// The writer's (the record's own or the time of the append call).
        case createTime
        /// The log's, when it appends the record: timestamps then rise with offsets in each partition (up to small
        /// inversions between concurrent appends), so a reader that has read a partition up to time T has seen every
        /// record stamped before T − ε, however long a writer or the broker stalled. The embedded log always stamps
        /// records that carry no timestamp this way; Kafka needs `message.timestamp.type=LogAppendTime`.
        case logAppendTime
    }

    public var name: String
    public var partitions: Int
    public var retention: Retention
    public var delivery: Delivery
    public var timestamps: Timestamps

    public init(
        name: String, partitions: Int, retention: Retention = .untilConsumed, delivery: Delivery = .prompt,
        timestamps: Timestamps = .createTime
    ) {
        self.timestamps = timestamps
        self.name = name
        self.partitions = partitions
        self.retention = retention
        self.delivery = delivery
    }
}

public struct LogRecord: Sendable {
    public var key: ByteBuffer?
    public var value: ByteBuffer
    /// Milliseconds since the epoch; `nil` lets the log stamp the time it accepted the record.
    public var timestamp: Int64?
    /// An explicit partition; `nil` partitions by key (murmur2, as Kafka's Java client) or round-robin.
    public var partition: Int?
    /// How much of a partition's capacity the record takes in the embedded log: the items it holds (a record of a
    /// whole ingest request weighs as many reactions as it holds), so that the bound stays one of items, not records.
    public var weight: Int = 1

    public init(key: ByteBuffer? = nil, value: ByteBuffer, timestamp: Int64? = nil, partition: Int? = nil) {
        self.key = key
        self.value = value
        self.timestamp = timestamp
        self.partition = partition
    }
}

public struct AppendReceipt: Sendable, Equatable {
    /// The time stamped on the appended records (when the log stamped them).
    public var timestamp: Int64
    public var count: Int

    public init(timestamp: Int64, count: Int) {
        self.timestamp = timestamp
        self.count = count
    }
}

public struct ConsumedRecord: Sendable {
    public var partition: Int
    public var offset: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer
    public var timestamp: Int64

    public init(partition: Int, offset: Int64, key: ByteBuffer?, value: ByteBuffer, timestamp: Int64) {
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.timestamp = timestamp
    }
}

public struct PollResult: Sendable {
    public var records: [ConsumedRecord]
    /// Event-time completeness: every record of the assigned partitions whose log timestamp is below this value
    /// has been delivered (by this poll or an earlier one). `nil` when the log cannot tell.
    public var watermark: Int64?
    /// The partitions this consumer owns now.
    public var assignment: [Int]
    /// Changes whenever the consumer's positions were reset to the committed offsets (a new assignment, a group
    /// rebalance): whatever was counted from earlier polls and not yet committed will be read again.
    public var generation: Int64
    /// Which incarnation of the topic the offsets belong to (Kafka's topic id); a new value means the topic was
    /// created again and its offsets started over. nil when the log cannot tell (the embedded log lives as long as
    /// its process).
    public var epoch: String?
    /// Whether this poll read every assigned partition up to its end (as of the log's last answer); nil when the log
    /// cannot tell. A reader that must see a topic whole up to now (an audit) reads until it is true.
    public var caughtUp: Bool?
    /// Per assigned partition, the metadata committed with the offset this generation started from (see
    /// ``LogConsumer/commit(_:metadata:)``); partitions committed without any are absent.
    public var committedMetadata: [Int: String]

    public init(
        records: [ConsumedRecord], watermark: Int64?, assignment: [Int], generation: Int64 = 0, epoch: String? = nil,
        caughtUp: Bool? = nil, committedMetadata: [Int: String] = [:]
    ) {
        self.committedMetadata = committedMetadata
        self.caughtUp = caughtUp
        self.epoch = epoch
        self.records = records
        self.watermark = watermark
        self.assignment = assignment
        self.generation = generation
    }
}

public enum StartPosition: Sendable, Equatable {
    case earliest
    case latest
    /// The last `n` records of each partition (for a replay buffer).
    case tail(Int)
}

public struct ConsumerOptions: Sendable {
    public var topic: String
    /// Consumers with the same group share the partitions and the committed offsets; `nil` reads every
    /// partition on its own.
    public var group: String?
    /// Where to start when there is no committed offset.
    public var start: StartPosition
    public var maxRecordsPerPoll: Int
    /// A name for logs and group membership.
    public var clientID: String
    /// Static group membership (Kafka's `group.instance.id`): a consumer restarted under the same id takes its
    /// predecessor's place in the group at once instead of waiting for the dead member's session to expire, and does
    /// not leave the group when it stops. Unique per process of the group; `nil` for a dynamic member. The embedded
    /// log has no group sessions and ignores it.
    public var instanceID: String?

    public init(
        topic: String, group: String? = nil, start: StartPosition = .earliest, maxRecordsPerPoll: Int = 10_000,
        clientID: String = "emostream", instanceID: String? = nil
    ) {
        self.topic = topic
        self.group = group
        self.start = start
        self.maxRecordsPerPoll = maxRecordsPerPoll
        self.clientID = clientID
        self.instanceID = instanceID
    }
}

public protocol LogConsumer: Sendable {
    /// Returns the next records, waiting up to `maxWait` when there are none.
    func poll(maxWait: Duration) async throws -> PollResult
    /// Commits, per partition, the offset of the next record to read (group consumers only), and with it the
    /// partition's `metadata`: a short string that the partition's next owner in the group reads back from
    /// ``PollResult/committedMetadata`` (a partition without an entry commits none).
    func commit(_ offsets: [Int: Int64], metadata: [Int: String]) async throws
}

extension LogConsumer {
    /// Commits offsets without metadata.
    public func commit(_ offsets: [Int: Int64]) async throws {
        try await commit(offsets, metadata: [:])
    }
}

public enum EventLogError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownTopic(String)
    /// The log stayed full for the whole append timeout.
    case full(topic: String)
    /// A single append larger than a partition can ever hold.
    case appendTooLarge(topic: String, count: Int, capacity: Int)
    case invalidPartition(topic: String, partition: Int)
    /// The log could not be reached or did not acknowledge in time (a Kafka cluster that is down or unreachable).
    /// Part of an append may have been stored.
    case unavailable(String)
    /// Another process joined the consumer group under this consumer's ``ConsumerOptions/instanceID``: this one owns
    /// nothing any more and must stop (two would process the same partitions).
    case fenced(String)
    case closed

    public var description: String {
        switch self {
        case .unknownTopic(let topic): "unknown topic '\(topic)'"
        case .full(let topic): "topic '\(topic)' is full (consumers are behind)"
        case .appendTooLarge(let topic, let count, let capacity):
            "append of \(count) records exceeds the capacity \(capacity) of a partition of '\(topic)'"
        case .invalidPartition(let topic, let partition): "topic '\(topic)' has no partition \(partition)"
        case .unavailable(let reason): "the event log is unavailable: \(reason)"
        case .fenced(let reason): "fenced out of the consumer group: \(reason)"
        case .closed: "the event log is closed"
        }
    }
}

/// Wall-clock milliseconds since the epoch: the time a log stamps on records it accepts.
public enum LogClock {
    public static func nowMillis() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}
