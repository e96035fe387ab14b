import DequeModule
import Foundation
import NIOCore
import Synchronization

/// The in-process event log used by `emostream up`: partitioned, bounded, with backpressure.
///
/// Every append is stamped with one time from a clock that never goes backwards, so within the log the record
/// timestamps are monotonic. That lets a consumer that has caught up know that no record older than "now" can
/// still arrive, which is what ``PollResult/watermark`` reports and what closes windows exactly.
public final class EmbeddedEventLog: EventLog {
    public struct Configuration: Sendable {
        /// Records retained per partition.
        public var partitionCapacity: Int
        /// How long an append waits for room before failing with ``EventLogError/full(topic:)``.
        public var appendTimeout: Duration

        public init(partitionCapacity: Int = 262_144, appendTimeout: Duration = .seconds(5)) {
            self.partitionCapacity = partitionCapacity
            self.appendTimeout = appendTimeout
        }
    }

    let configuration: Configuration
    let state: Mutex<LogState>
    let wallClock: @Sendable () -> Int64

    public init(
        configuration: Configuration = .init(),
        wallClock: @escaping @Sendable () -> Int64 = LogClock.nowMillis
    ) {
        self.configuration = configuration
        self.wallClock = wallClock
        self.state = Mutex(LogState())
    }

    public func ensureTopic(_ spec: TopicSpec) async throws {
        precondition(spec.partitions > 0, "a topic needs at least one partition")
        let capacity = configuration.partitionCapacity
        state.withLock { state in
            if state.topics[spec.name] == nil {
                state.topics[spec.name] = TopicLog(partitions: spec.partitions, retention: spec.retention, capacity: capacity)
            }
        }
    }

    public func partitionCount(of topic: String) async throws -> Int {
        try state.withLock { state in
            guard let log = state.topics[topic] else { throw EventLogError.unknownTopic(topic) }
            return log.partitions.count
        }
    }

    @discardableResult
    public func append(_ records: [LogRecord], to topic: String) async throws -> AppendReceipt {
        let deadline = ContinuousClock.now.advanced(by: configuration.appendTimeout)
        while true {
            try Task.checkCancellation()
            let signal = Signal()
            let outcome = try state.withLock { state -> AppendOutcome in
                try state.append(records, to: topic, now: wallClock(), ifFullRegister: signal)
            }
            switch outcome {
            case .appended(let receipt, let wake):
                for waiter in wake { waiter.fire() }
                return receipt
            case .full(let waiterID):
                if ContinuousClock.now >= deadline {
                    state.withLock { $0.removeSpaceWaiter(waiterID, topic: topic) }
                    throw EventLogError.full(topic: topic)
                }
                await signal.wait(until: deadline)
                state.withLock { $0.removeSpaceWaiter(waiterID, topic: topic) }
            }
        }
    }

    public func withConsumer<Result>(
        _ options: ConsumerOptions, _ body: (any LogConsumer) async throws -> Result
    ) async throws -> Result {
        let consumer = try makeConsumer(options)
        defer { consumer.close() }
        return try await body(consumer)
    }

    /// A consumer whose membership lasts until ``EmbeddedConsumer/close()``: for tests that interleave several
    /// consumers step by step. It has no background work; everything else uses ``withConsumer(_:_:)``.
    public func makeConsumer(_ options: ConsumerOptions) throws -> EmbeddedConsumer {
        let id = try state.withLock { state in
            try state.register(options)
        }
        return EmbeddedConsumer(log: self, id: id, options: options)
    }

    /// Items currently retained in a topic, per partition: the records' weights (``LogRecord/weight``; reactions for
    /// the `emoji` topic), for tests and metrics.
    public func retainedCounts(of topic: String) -> [Int] {
        state.withLock { state in state.topics[topic]?.partitions.map(\.weight) ?? [] }
    }
}

/// A consumer of the embedded log.
public final class EmbeddedConsumer: LogConsumer {
    let log: EmbeddedEventLog
    let id: UInt64
    let options: ConsumerOptions

    init(log: EmbeddedEventLog, id: UInt64, options: ConsumerOptions) {
        self.log = log
        self.id = id
        self.options = options
    }

    public func poll(maxWait: Duration) async throws -> PollResult {
        let deadline = ContinuousClock.now.advanced(by: maxWait)
        while true {
            try Task.checkCancellation()
            let signal = Signal()
            let result = try log.state.withLock { state in
                try state.poll(consumer: id, now: log.wallClock(), ifEmptyRegister: signal)
            }
            if !result.records.isEmpty || ContinuousClock.now >= deadline {
                log.state.withLock { $0.removeDataWaiter(id, topic: options.topic) }
                return result
            }
            await signal.wait(until: deadline)
            log.state.withLock { $0.removeDataWaiter(id, topic: options.topic) }
        }
    }

    public func commit(_ offsets: [Int: Int64], metadata: [Int: String]) async throws {
        let wake = try log.state.withLock { state in
            try state.commit(consumer: id, offsets: offsets, metadata: metadata)
        }
        for waiter in wake { waiter.fire() }
    }

    /// Leaves the consumer's group (its partitions go to the other members).
    public func close() {
        let wake = log.state.withLock { state in state.unregister(consumer: id) }
        for waiter in wake { waiter.fire() }
    }
}
