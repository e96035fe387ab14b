import Logging
import Metrics
import NIOCore
import ServiceLifecycle

/// One record of a typed topic as read: its place in the log and its decoded value.
public struct TopicRecord<Value> {
    public var partition: Int
    public var offset: Int64
    public var timestamp: Int64
    public var key: ByteBuffer?
    /// nil when the record's bytes are not a value of the topic (counted and logged by the reader).
    public var value: Value?

    public init(partition: Int, offset: Int64, timestamp: Int64, key: ByteBuffer?, value: Value?) {
        self.partition = partition
        self.offset = offset
        self.timestamp = timestamp
        self.key = key
        self.value = value
    }
}

/// A ``PollResult`` with decoded values.
public struct TopicPoll<Value> {
    /// Every record of the poll, in log order, malformed ones with a nil value.
    public var records: [TopicRecord<Value>]
    public var watermark: Int64?
    public var assignment: [Int]
    public var generation: Int64
    /// See ``PollResult/epoch``.
    public var epoch: String? = nil
    /// See ``PollResult/caughtUp``.
    public var caughtUp: Bool? = nil
    /// See ``PollResult/committedMetadata``.
    public var committedMetadata: [Int: String] = [:]

    /// The well-formed values, in log order.
    public var values: [Value] { records.compactMap(\.value) }
}

/// A consumer of one typed topic: it decodes what it reads and counts (and logs) the records it cannot decode.
public struct TopicReader<Value>: Sendable {
    public let topic: Topic<Value>
    public let consumer: any LogConsumer
    let logger: Logger
    let undecodable: Counter

    public func poll(maxWait: Duration) async throws -> TopicPoll<Value> {
        let poll = try await consumer.poll(maxWait: maxWait)
        var records: [TopicRecord<Value>] = []
        records.reserveCapacity(poll.records.count)
        for record in poll.records {
            var value: Value?
            do {
                value = try topic.decode(record)
            } catch {
                undecodable.increment()
                logger.warning(
                    "skipping a malformed record",
                    metadata: ["partition": "\(record.partition)", "offset": "\(record.offset)", "error": "\(error)"])
            }
            records.append(
                TopicRecord(
                    partition: record.partition, offset: record.offset, timestamp: record.timestamp, key: record.key,
                    value: value))
        }
        return TopicPoll(
            records: records, watermark: poll.watermark, assignment: poll.assignment, generation: poll.generation,
            epoch: poll.epoch, caughtUp: poll.caughtUp, committedMetadata: poll.committedMetadata)
    }

    public func commit(_ offsets: [Int: Int64], metadata: [Int: String] = [:]) async throws {
        try await consumer.commit(offsets, metadata: metadata)
    }
}

extension EventLog {
    /// Runs `body` with a reader of `topic` (see ``EventLog/withConsumer(_:_:)``). Records that do not decode are
    /// counted in `emostream_log_malformed_records_total{topic}`.
    public func withReader<Value, Result>(
        _ topic: Topic<Value>, _ options: ConsumerOptions, logger: Logger, metrics: any MetricsFactory,
        _ body: (TopicReader<Value>) async throws -> Result
    ) async throws -> Result {
        var options = options
        options.topic = topic.name
        var logger = logger
        logger[metadataKey: "topic"] = "\(topic.name)"
        let undecodable = Counter(
            label: "emostream_log_malformed_records_total", dimensions: [("topic", topic.name)], factory: metrics)
        return try await withConsumer(options) { consumer in
            try await body(TopicReader(topic: topic, consumer: consumer, logger: logger, undecodable: undecodable))
        }
    }

    /// The consumer loop of every long-running reader (processor, publisher, a node's feed, the gateway's channel
    /// activity): polls `topic` and hands each poll, with the loop's `state`, to `handle`, until the task is
    /// cancelled or its service is asked to shut down, which ends the loop without an error.
    ///
    /// - Parameter maxWait: how long the next poll may wait for records.
    public func consume<Value, State: Sendable>(
        _ topic: Topic<Value>, _ options: ConsumerOptions, logger: Logger, metrics: any MetricsFactory,
        state: State, maxWait: @escaping @Sendable () -> Duration,
        _ handle: @escaping @Sendable (inout State, TopicPoll<Value>, TopicReader<Value>) async throws -> Void
    ) async throws {
        do {
            try await withReader(topic, options, logger: logger, metrics: metrics) { reader in
                try await cancelWhenGracefulShutdown {
                    var state = state
                    while !Task.isCancelled {
                        let poll = try await reader.poll(maxWait: maxWait())
                        try await handle(&state, poll, reader)
                    }
                }
            }
        } catch is CancellationError {
            // Cancelled, or graceful shutdown.
        }
    }

    /// ``consume(_:_:logger:metrics:state:maxWait:_:)`` for a loop without state of its own.
    public func consume<Value>(
        _ topic: Topic<Value>, _ options: ConsumerOptions, logger: Logger, metrics: any MetricsFactory,
        maxWait: Duration, _ handle: @escaping @Sendable (TopicPoll<Value>, TopicReader<Value>) async throws -> Void
    ) async throws {
        try await consume(topic, options, logger: logger, metrics: metrics, state: (), maxWait: { maxWait }) {
            _, poll, reader in try await handle(poll, reader)
        }
    }
}
