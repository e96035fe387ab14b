import NIOCore

/// Where a group consumer starts when the group has no committed offset (or its position is out of range).
public enum KafkaOffsetReset: Sendable, Hashable {
    case earliest, latest
}

/// Where a manually assigned partition starts.
public enum KafkaStartOffset: Sendable, Hashable {
    case earliest
    case latest
    /// The last n records of the partition (clamped to the log start).
    case tail(Int)
    case offset(Int64)
}

/// Consumer settings.
public struct KafkaConsumerConfiguration: Sendable {
    public enum Subscription: Sendable {
        /// Join consumer group `id` and share the partitions of `topics` with its other members (range assignor).
        case group(id: String, topics: [String])
        /// Read these partitions, no group.
        case partitions([KafkaTopicPartition: KafkaStartOffset])
    }

    public var client: KafkaClientConfiguration
    public var subscription: Subscription
    /// For group consumers without a committed offset, and for positions out of range.
    public var autoOffsetReset: KafkaOffsetReset
    /// Default 6 s: on Tansu a JoinGroup takes about session/2.
    public var sessionTimeout: Duration
    /// Default 1 s (≤ session/3).
    public var heartbeatInterval: Duration
    public var rebalanceTimeout: Duration
    /// KIP-345 static membership (`group.instance.id`): unique per consumer process of the group. A member that
    /// restarts under the same id within the session timeout takes its assignment back without a rebalance; a second
    /// process under the same id fences the first. nil: a dynamic member.
    public var groupInstanceID: String? = nil
    /// Long-poll time of a Fetch (min_bytes 1).
    public var fetchMaxWait: Duration
    public var fetchMaxBytes: Int
    /// Bound of records fetched but not yet polled; fetching pauses above it.
    public var maxBufferedRecords: Int

    public init(client: KafkaClientConfiguration, subscription: Subscription) {
        self.client = client
        self.subscription = subscription
        self.autoOffsetReset = .earliest
        self.sessionTimeout = .seconds(6)
        self.heartbeatInterval = .seconds(1)
        self.rebalanceTimeout = .seconds(10)
        self.fetchMaxWait = .milliseconds(500)
        self.fetchMaxBytes = 4 * 1024 * 1024
        self.maxBufferedRecords = 50_000
    }
}

/// A consumed record.
public struct KafkaConsumerMessage: Sendable {
    public var topic: String
    public var partition: Int
    public var offset: Int64
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [KafkaHeader]
    public var timestamp: Int64

    public init(
        topic: String, partition: Int, offset: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader],
        timestamp: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var topicPartition: KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }
}

/// How far a consumer is in one partition.
public struct KafkaPartitionProgress: Sendable, Hashable {
    /// Next offset the consumer will return from poll.
    public var position: Int64
    /// From the latest Fetch response for this partition.
    public var highWatermark: Int64
    /// Wall-clock ms when that Fetch response arrived.
    public var fetchedAtMillis: Int64
    public var isCaughtUp: Bool { position >= highWatermark }

    public init(position: Int64, highWatermark: Int64, fetchedAtMillis: Int64) {
        self.position = position
        self.highWatermark = highWatermark
        self.fetchedAtMillis = fetchedAtMillis
    }
}

/// What one `poll` returns.
public struct KafkaPollBatch: Sendable {
    public var messages: [KafkaConsumerMessage]
    /// What this consumer owns right now (empty while rebalancing).
    public var assignment: [KafkaTopicPartition]
    /// For assigned partitions that have been fetched at least once.
    public var progress: [KafkaTopicPartition: KafkaPartitionProgress]
    /// Group generation (-1 for manual assignment).
    public var generation: Int32
    /// The metadata committed with the offsets this generation started from (see
    /// ``KafkaConsumer/commit(_:metadata:)``), per assigned partition that has any.
    public var committedMetadata: [KafkaTopicPartition: String]

    public init(
        messages: [KafkaConsumerMessage], assignment: [KafkaTopicPartition],
        progress: [KafkaTopicPartition: KafkaPartitionProgress], generation: Int32,
        committedMetadata: [KafkaTopicPartition: String] = [:]
    ) {
        self.committedMetadata = committedMetadata
        self.messages = messages
        self.assignment = assignment
        self.progress = progress
        self.generation = generation
    }
}
