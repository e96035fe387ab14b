import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A producer with per-partition batching, acks=all, retries bounded by the delivery timeout, and a bounded buffer.
///
/// `run()` does the sending: records passed to ``sendAndAwait(_:)`` before `run()` starts stay buffered until it
/// does. Run the producer in a `ServiceGroup` (or a task of your own) for as long as you send.
public final class KafkaProducer: Service, Sendable {
    let configuration: KafkaProducerConfiguration
    let logger: Logger
    let cluster: KafkaCluster
    private let state: Mutex<ProducerAccumulator>
    /// Wakes the sender loop.
    private let wake = AsyncCondition()
    /// Wakes senders waiting for buffer space.
    private let space = AsyncCondition()
    private let refreshing = Atomic<Bool>(false)
    private let initializing = Atomic<Bool>(false)

    public init(configuration: KafkaProducerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.cluster = KafkaCluster(configuration: configuration.client, logger: logger)
        var accumulator = ProducerAccumulator()
        if configuration.enableIdempotence { accumulator.idempotence = .init() }
        self.state = Mutex(accumulator)
    }

    /// Partition count of `topic` from cached metadata (fetched on first use).
    public func partitionCount(of topic: String) async throws -> Int {
        try await cluster.partitionCount(of: topic)
    }

    public func triggerGracefulShutdown() {
        let changed = state.withLock { state -> Bool in
            guard !state.shuttingDown else { return false }
            state.shuttingDown = true
            state.shutdownDeadline = ContinuousClock.now.advanced(by: configuration.deliveryTimeout)
            return true
        }
        if changed {
            logger.debug("producer shutting down, flushing")
            wake.notifyAll()
            space.notifyAll()
        }
    }

    /// Enqueues all messages (waiting for buffer space) and returns when every one is acknowledged by the broker
    /// (acks=all), in order; throws the first failure. Throws `.shutdown` after shutdown.
    public func sendAndAwait(_ messages: [KafkaProducerMessage]) async throws -> [KafkaRecordMetadata] {
        guard !messages.isEmpty else { return [] }
        if state.withLock({ $0.shuttingDown }) { throw KafkaError.shutdown("the producer") }
        let tracker = DeliveryTracker(count: messages.count)
        let batchSize = configuration.batchSizeBytes
        let capacity = configuration.bufferCapacity
        var counts: [String: Int] = [:]
        for (index, message) in messages.enumerated() {
            do {
                let partitions: Int
                if let known = counts[message.topic] {
                    partitions = known
                } else {
                    partitions = try await cluster.partitionCount(of: message.topic)
                    counts[message.topic] = partitions
                }
                let record = OutgoingRecord(
                    key: message.key, value: message.value, headers: message.headers,
                    timestamp: message.timestamp ?? currentTimeMillis(), logAppendTime: message.logAppendTime)
                let size = record.estimatedSize
                let partition: Int
                if let explicit = message.partition {
                    guard explicit >= 0 && explicit < partitions else {
                        throw KafkaError.broker(
                            3, "partition \(explicit) of topic \"\(message.topic)\" does not exist (\(partitions) partitions)")
                    }
                    partition = explicit
                } else if let key = message.key {
                    partition = key.withUnsafeReadableBytes { Murmur2.partition(forKey: $0, partitions: partitions) }
                } else {
                    partition = state.withLock {
                        $0.stickyPartition(topic: message.topic, partitions: partitions, size: size, batchSize: batchSize)
                    }
                }
                let tp = KafkaTopicPartition(topic: message.topic, partition: partition)
                let pending = ProducerAccumulator.Pending(
                    record: record, size: size, tracker: tracker, index: index, enqueuedAt: .now)
                while true {
                    let seen = space.version
                    let outcome = state.withLock {
                        $0.enqueue(pending, to: tp, capacity: capacity, batchSize: batchSize)
                    }
                    switch outcome {
                    case .enqueued(let wakeSender):
                        if wakeSender { wake.notifyAll() }
                    case .shutdown:
                        throw KafkaError.shutdown("the producer")
                    case .full:
                        wake.notifyAll()
                        await space.wait(after: seen)
                        try Task.checkCancellation()
                        continue
                    }
                    break
                }
            } catch {
                let kafkaError = (error as? KafkaError) ?? KafkaError(.shutdown, "send cancelled: \(error)")
                tracker.abandon(from: index, kafkaError)
                throw error
            }
        }
        return try await tracker.wait()
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await runSender()
        } onGracefulShutdown: {
            self.triggerGracefulShutdown()
        }
        await cluster.close()
    }

    private func runSender() async {
        await withDiscardingTaskGroup { group in
            while true {
                let seen = wake.version
                if Task.isCancelled {
                    state.withLock {
                        $0.shuttingDown = true
                        $0.shutdownDeadline = .now
                    }
                }
                let now = ContinuousClock.now
                let metadata = cluster.metadata
                let drain = state.withLock { $0.drain(now: now, metadata: metadata, configuration: configuration) }
                if !drain.expired.isEmpty {
                    for (pending, error) in drain.expired { pending.tracker.fail(pending.index, error) }
                    space.notifyAll()
                }
                var deadline = drain.nextDeadline
                let needsProducerID = state.withLock {
                    $0.idempotence != nil && $0.idempotence?.producer == nil && $0.inFlightBatches == 0 && $0.buffered > 0
                }
                if needsProducerID {
                    startProducerIDInit(in: &group)
                }
                if drain.needsMetadata {
                    startMetadataRefresh(in: &group)
                    let retry = now.advanced(by: configuration.client.retryBackoff)
                    if deadline.map({ retry < $0 }) ?? true { deadline = retry }
                }
                for request in drain.requests {
                    group.addTask { await self.send(request) }
                }
                if drain.finished { break }
                if Task.isCancelled {
                    // In-flight requests finish (bounded by the request timeout); nothing new is sent.
                    let dropped = state.withLock { $0.removeAllQueued() }
                    for p in dropped { p.tracker.fail(p.index, KafkaError.shutdown("the producer")) }
                    if state.withLock({ $0.buffered == 0 }) { break }
                }
                await wake.wait(after: seen, deadline: deadline)
            }
        }
        logger.debug("producer stopped")
    }

    private func startMetadataRefresh(in group: inout DiscardingTaskGroup) {
        guard refreshing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        let topics = Array(Set(state.withLock { $0.queues.keys.map(\.topic) }))
        group.addTask {
            do {
                try await self.cluster.refreshMetadata(topics: topics)
            } catch {
                self.logger.debug("metadata refresh failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: self.configuration.client.retryBackoff)
            }
            self.refreshing.store(false, ordering: .releasing)
            self.wake.notifyAll()
        }
    }

    private func startProducerIDInit(in group: inout DiscardingTaskGroup) {
        guard initializing.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        group.addTask {
            do {
                let response = try await self.cluster.sendToAny(InitProducerIdRequest(), role: .produce)
                guard response.errorCode == 0 else {
                    throw KafkaError.broker(response.errorCode, "InitProducerId")
                }
                self.state.withLock {
                    $0.idempotence?.producer = (response.producerID, response.producerEpoch)
                    $0.idempotence?.nextSequence = [:]
                }
                self.logger.debug(
                    "idempotent producer id assigned",
                    metadata: ["producerID": "\(response.producerID)", "epoch": "\(response.producerEpoch)"])
            } catch {
                self.logger.debug("InitProducerId failed", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: self.configuration.client.retryBackoff)
            }
            self.initializing.store(false, ordering: .releasing)
            self.wake.notifyAll()
        }
    }

    private func send(_ request: ProducerAccumulator.Request) async {
        var topics: [String: [ProduceRequest.PartitionData]] = [:]
        for batch in request.batches {
            let encoded = RecordBatch.encode(batch.records.map(\.record), producer: batch.producer)
            topics[batch.partition.topic, default: []].append(
                .init(partition: Int32(batch.partition.partition), records: encoded))
        }
        let produce = ProduceRequest(
            timeoutMs: configuration.client.requestTimeout.kafkaMillis32,
            topics: topics.map { (name: $0.key, partitions: $0.value) })
        var results: [KafkaTopicPartition: ProduceRequest.PartitionResponse] = [:]
        var requestError: KafkaError?
        do {
            let response = try await cluster.send(produce, to: request.address, role: .produce)
            for topic in response.topics {
                for p in topic.partitions {
                    results[KafkaTopicPartition(topic: topic.name, partition: Int(p.partition))] = p
                }
            }
        } catch let error as KafkaError {
            requestError = error
        } catch {
            requestError = KafkaError(.connectionClosed, "produce to \(request.address) failed: \(error)")
        }
        var staleMetadata = false
        let retryAt = ContinuousClock.now.advanced(by: configuration.client.retryBackoff)
        for batch in request.batches {
            let error: KafkaError
            if let requestError {
                error = requestError
            } else if let result = results[batch.partition] {
                if result.errorCode == 0 {
                    deliver(batch, result)
                    continue
                }
                if result.errorCode == 46 && batch.producer.producerID >= 0 {
                    // DUPLICATE_SEQUENCE_NUMBER: an earlier attempt was written; offsets unknown.
                    deliver(batch, nil)
                    continue
                }
                if [45, 47, 59, 90].contains(result.errorCode) && batch.producer.producerID >= 0 {
                    // The broker lost or rejected our producer state: new producer id, resend under it.
                    let error = KafkaError.broker(result.errorCode, "produce to \(batch.partition)", brokerMessage: result.errorMessage)
                    logger.info("idempotent producer state reset", metadata: ["partition": "\(batch.partition)", "error": "\(error)"])
                    state.withLock {
                        $0.requeue(batch, error: error, retryAt: retryAt)
                        $0.resetProducerID()
                    }
                    continue
                }
                error = KafkaError.broker(
                    result.errorCode, "produce to \(batch.partition)", brokerMessage: result.errorMessage)
                if KafkaError.staleMetadataCodes.contains(result.errorCode) { staleMetadata = true }
            } else {
                error = KafkaError(.protocolViolation, "produce response from \(request.address) lacks \(batch.partition)")
            }
            if error.isRetriable {
                logger.debug(
                    "produce failed, will retry",
                    metadata: ["partition": "\(batch.partition)", "error": "\(error)"])
                state.withLock { $0.requeue(batch, error: error, retryAt: retryAt, pin: true) }
            } else {
                logger.warning(
                    "produce failed", metadata: ["partition": "\(batch.partition)", "error": "\(error)"])
                state.withLock {
                    $0.complete(batch)
                    if batch.producer.producerID >= 0 { $0.resetProducerID() }
                }
                for p in batch.records { p.tracker.fail(p.index, error) }
            }
        }
        if requestError != nil || staleMetadata {
            // The sender expires what has run out of delivery time meanwhile: a stalled broker would hold the lookup
            // below for its request timeout.
            wake.notifyAll()
            // Connection trouble or a moved leader: look the leaders up again before the retries go out.
            let topics = Array(Set(request.batches.map(\.partition.topic)))
            _ = try? await cluster.refreshMetadata(topics: topics)
        }
        space.notifyAll()
        wake.notifyAll()
    }

    private func deliver(_ batch: ProducerAccumulator.Batch, _ result: ProduceRequest.PartitionResponse?) {
        state.withLock { $0.complete(batch) }
        for (i, p) in batch.records.enumerated() {
            let baseOffset = result?.baseOffset ?? -1
            let appendTime = result?.logAppendTimeMs ?? -1
            let metadata = KafkaRecordMetadata(
                topic: batch.partition.topic, partition: batch.partition.partition,
                offset: baseOffset >= 0 ? baseOffset + Int64(i) : -1,
                timestamp: appendTime >= 0 ? appendTime : p.record.timestamp)
            p.tracker.succeed(p.index, metadata)
        }
    }
}
