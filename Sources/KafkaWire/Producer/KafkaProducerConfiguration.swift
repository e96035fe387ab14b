import NIOCore

/// Producer settings. Records are batched per partition (up to `batchSizeBytes`, or `linger` after the first
/// record arrived) and sent with acks=all.
public struct KafkaProducerConfiguration: Sendable {
    public var client: KafkaClientConfiguration
    /// How long a partition's first buffered record may wait for company before its batch is sent.
    public var linger: Duration
    /// Per-partition batch cap; a single bigger record goes alone.
    public var batchSizeBytes: Int
    /// Max records buffered (unsent + in flight); `sendAndAwait` waits for room when full.
    public var bufferCapacity: Int
    /// Upper bound on the time from enqueue to acknowledgement, retries included.
    public var deliveryTimeout: Duration
    /// Max size of one Produce request.
    public var maxRequestBytes: Int
    /// Idempotent produce (InitProducerId, per-partition sequence numbers): a retried batch the broker already
    /// wrote is not written twice (DUPLICATE_SEQUENCE_NUMBER counts as delivered, offset -1). Default false.
    public var enableIdempotence: Bool

    public init(client: KafkaClientConfiguration) {
        self.client = client
        self.linger = .milliseconds(5)
        self.batchSizeBytes = 16_384
        self.bufferCapacity = 100_000
        self.deliveryTimeout = .seconds(30)
        self.maxRequestBytes = 1_048_576
        self.enableIdempotence = false
    }
}

/// A record to produce.
public struct KafkaProducerMessage: Sendable {
    public var topic: String
    /// nil: keyed records go to `toPositive(murmur2(key)) % partitions` (like Java's client), keyless records to a
    /// sticky partition that moves on after each batch-sized run.
    public var partition: Int?
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch; nil = now.
    public var timestamp: Int64?
    /// Ask the broker to stamp the record with its append time (the batch's LogAppendTime attribute; a topic created
    /// with `message.timestamp.type=LogAppendTime` gets that whatever the producer asks).
    public var logAppendTime: Bool

    public init(
        topic: String, partition: Int? = nil, key: ByteBuffer? = nil, value: ByteBuffer?, headers: [KafkaHeader] = [],
        timestamp: Int64? = nil, logAppendTime: Bool = false
    ) {
        self.logAppendTime = logAppendTime
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }
}

/// Where an acknowledged record was written.
public struct KafkaRecordMetadata: Sendable, Hashable {
    public var topic: String
    public var partition: Int
    /// -1 when unknown.
    public var offset: Int64
    public var timestamp: Int64

    public init(topic: String, partition: Int, offset: Int64, timestamp: Int64) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
    }
}
