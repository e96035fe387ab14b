import NIOCore

/// A typed contract for one topic, defined once and shared by its writers and readers: the name, how records are
/// keyed, how values are encoded, and how the log keeps and batches them.
public struct Topic<Value>: Sendable {
    public let name: String
    public let retention: TopicSpec.Retention
    public let delivery: TopicSpec.Delivery
    public let timestamps: TopicSpec.Timestamps
    public let codec: any RecordCodec<Value>
    /// The record key (partitioning: the same key always goes to the same partition); nil: spread round-robin.
    public let key: (@Sendable (Value) -> ByteBuffer?)?
    /// The items a value holds, for the embedded log's capacity (see ``LogRecord/weight``); nil: one.
    public let weight: (@Sendable (Value) -> Int)?

    public init(
        name: String, codec: any RecordCodec<Value>, retention: TopicSpec.Retention = .untilConsumed,
        delivery: TopicSpec.Delivery = .prompt, timestamps: TopicSpec.Timestamps = .createTime,
        key: (@Sendable (Value) -> ByteBuffer?)? = nil, weight: (@Sendable (Value) -> Int)? = nil
    ) {
        self.weight = weight
        self.timestamps = timestamps
        self.name = name
        self.codec = codec
        self.retention = retention
        self.delivery = delivery
        self.key = key
    }

    /// How the log creates the topic with `partitions` partitions.
    public func spec(partitions: Int) -> TopicSpec {
        TopicSpec(name: name, partitions: partitions, retention: retention, delivery: delivery, timestamps: timestamps)
    }

    /// The records of `values`, encoded into one buffer that the records' values share (one allocation per
    /// append, not per record).
    public func records(_ values: [Value]) -> [LogRecord] {
        var buffer = ByteBufferAllocator().buffer(capacity: values.count * 32)
        var bounds: [(start: Int, length: Int)] = []
        bounds.reserveCapacity(values.count)
        for value in values {
            let start = buffer.writerIndex
            codec.encode(value, into: &buffer)
            bounds.append((start, buffer.writerIndex - start))
        }
        var records: [LogRecord] = []
        records.reserveCapacity(values.count)
        for (index, value) in values.enumerated() {
            let bytes = buffer.getSlice(at: bounds[index].start, length: bounds[index].length)!
            var record = LogRecord(key: key?(value), value: bytes)
            if let weight { record.weight = weight(value) }
            records.append(record)
        }
        return records
    }

    /// The value of a record read from this topic.
    public func decode(_ record: ConsumedRecord) throws(RecordDecodingError) -> Value {
        try codec.decode(record.value)
    }
}

extension EventLog {
    /// Creates `topic` with `partitions` partitions unless it exists.
    public func ensureTopic<Value>(_ topic: Topic<Value>, partitions: Int) async throws {
        try await ensureTopic(topic.spec(partitions: partitions))
    }

    /// Appends every value or none (see ``EventLog/append(_:to:)``).
    @discardableResult
    public func append<Value>(_ values: [Value], to topic: Topic<Value>) async throws -> AppendReceipt {
        try await append(topic.records(values), to: topic.name)
    }
}
