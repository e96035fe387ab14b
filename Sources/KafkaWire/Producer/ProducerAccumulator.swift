import DequeModule
import NIOCore

/// The producer's buffered records, per partition, and the decisions about what to send next. Pure state: lives
/// inside the producer's `Mutex` and returns what the caller must do.
struct ProducerAccumulator {
    struct Pending: Sendable {
        var record: OutgoingRecord
        var size: Int
        var tracker: DeliveryTracker
        var index: Int
        var enqueuedAt: ContinuousClock.Instant
    }

    struct PartitionQueue {
        var records = Deque<Pending>()
        var bytes = 0
        var inFlight = false
        var retryAt: ContinuousClock.Instant?
        var lastError: KafkaError?
        /// Idempotence: a failed batch to resend exactly (same records, same sequence).
        var pinned: Batch?
    }

    /// One partition's batch inside a request.
    struct Batch: Sendable {
        var partition: KafkaTopicPartition
        var records: [Pending]
        /// Idempotence: producer id, epoch and base sequence stamped on the batch (retried unchanged).
        var producer = RecordBatch.ProducerState()
    }

    /// Idempotence state: nil when disabled.
    struct Idempotence {
        /// nil until InitProducerId answered (and after a reset).
        var producer: (id: Int64, epoch: Int16)?
        var nextSequence: [KafkaTopicPartition: Int32] = [:]
    }

    /// A Produce request to send.
    struct Request: Sendable {
        var address: KafkaBrokerAddress
        var batches: [Batch]
    }

    struct Drain {
        var requests: [Request] = []
        var expired: [(Pending, KafkaError)] = []
        var nextDeadline: ContinuousClock.Instant?
        var needsMetadata = false
        var finished = false
    }

    var queues: [KafkaTopicPartition: PartitionQueue] = [:]
    /// Records buffered (unsent + in flight).
    var buffered = 0
    var shuttingDown = false
    var shutdownDeadline: ContinuousClock.Instant?
    var sticky: [String: (partition: Int, bytes: Int)] = [:]
    var idempotence: Idempotence?
    var inFlightBatches = 0

    enum EnqueueOutcome {
        case enqueued(wakeSender: Bool)
        case full
        case shutdown
    }

    mutating func enqueue(_ pending: Pending, to tp: KafkaTopicPartition, capacity: Int, batchSize: Int)
        -> EnqueueOutcome
    {
        if shuttingDown { return .shutdown }
        guard buffered < capacity else { return .full }
        buffered += 1
        // Move the queue out of the dictionary so its Deque is uniquely referenced (no copy-on-write per append).
        var queue = queues.removeValue(forKey: tp) ?? PartitionQueue()
        let wasEmpty = queue.records.isEmpty
        queue.records.append(pending)
        queue.bytes += pending.size
        let full = queue.bytes >= batchSize
        queues[tp] = queue
        return .enqueued(wakeSender: wasEmpty || full || buffered >= capacity)
    }

    /// The partition for a keyless record: stays on one partition for a batch's worth of bytes, then moves on.
    mutating func stickyPartition(topic: String, partitions: Int, size: Int, batchSize: Int) -> Int {
        var entry = sticky[topic] ?? (Int.random(in: 0..<partitions), 0)
        if entry.bytes >= batchSize || entry.partition >= partitions {
            entry = ((entry.partition + 1) % partitions, 0)
        }
        entry.bytes += size
        sticky[topic] = entry
        return entry.partition
    }

    /// Picks the batches to send now, records that expired, and when to look again.
    mutating func drain(
        now: ContinuousClock.Instant, metadata: ClusterMetadata, configuration: KafkaProducerConfiguration
    ) -> Drain {
        var result = Drain()
        let bufferFull = buffered >= configuration.bufferCapacity
        let forceAll = shuttingDown || bufferFull
        var perBroker: [KafkaBrokerAddress: [Batch]] = [:]
        var perBrokerBytes: [KafkaBrokerAddress: Int] = [:]
        func consider(_ deadline: ContinuousClock.Instant) {
            if result.nextDeadline.map({ deadline < $0 }) ?? true { result.nextDeadline = deadline }
        }
        let shutdownExpired = shuttingDown && (shutdownDeadline.map { now >= $0 } ?? false)
        let producerReady = idempotence == nil || idempotence?.producer != nil
        var sequenceGap = false
        for tp in Array(queues.keys) {
            guard queues[tp].map({ !$0.records.isEmpty && !$0.inFlight }) == true,
                var queue = queues.removeValue(forKey: tp)
            else { continue }
            // Expire records that waited longer than the delivery timeout.
            while let first = queue.records.first,
                shutdownExpired || now >= first.enqueuedAt.advanced(by: configuration.deliveryTimeout)
            {
                queue.records.removeFirst()
                queue.bytes -= first.size
                buffered -= 1
                if queue.pinned != nil {
                    // A sent batch is given up: its sequence numbers leave a gap.
                    queue.pinned = nil
                    sequenceGap = true
                }
                let error: KafkaError
                if shutdownExpired {
                    error = KafkaError(.shutdown, "producer shut down before \(tp) could be delivered")
                } else {
                    var text = "record for \(tp) not acknowledged within the delivery timeout"
                    if let last = queue.lastError { text += "; last error: \(last)" }
                    error = KafkaError(.deliveryTimeout, text)
                }
                result.expired.append((first, error))
            }
            guard let oldest = queue.records.first else {
                queues[tp] = nil
                continue
            }
            consider(oldest.enqueuedAt.advanced(by: configuration.deliveryTimeout))
            if let retryAt = queue.retryAt, retryAt > now {
                consider(retryAt)
                queues[tp] = queue
                continue
            }
            let lingerDeadline = oldest.enqueuedAt.advanced(by: configuration.linger)
            let ready = forceAll || queue.bytes >= configuration.batchSizeBytes || now >= lingerDeadline
            guard ready else {
                consider(lingerDeadline)
                queues[tp] = queue
                continue
            }
            guard producerReady else {
                queues[tp] = queue
                continue
            }
            guard let leader = metadata.leaderAddress(tp) else {
                result.needsMetadata = true
                queues[tp] = queue
                continue
            }
            let used = perBrokerBytes[leader.address] ?? 0
            if used > 0 && used + min(queue.bytes, configuration.batchSizeBytes) > configuration.maxRequestBytes {
                // This request is full; the partition goes in the next one.
                consider(now)
                queues[tp] = queue
                continue
            }
            var batch: [Pending] = []
            var batchBytes = 0
            let pinned = queue.pinned
            while let next = queue.records.first {
                if let pinned {
                    if batch.count == pinned.records.count { break }
                } else {
                    if !batch.isEmpty && batchBytes + next.size > configuration.batchSizeBytes { break }
                    if !batch.isEmpty && used + batchBytes + next.size > configuration.maxRequestBytes { break }
                }
                batch.append(queue.records.removeFirst())
                batchBytes += next.size
            }
            queue.bytes -= batchBytes
            queue.inFlight = true
            queue.retryAt = nil
            queue.pinned = nil
            queues[tp] = queue
            var outgoing = Batch(partition: tp, records: batch)
            if let pinned {
                outgoing.producer = pinned.producer
            } else if var idem = idempotence, let producer = idem.producer {
                let sequence = idem.nextSequence[tp] ?? 0
                outgoing.producer = .init(producerID: producer.id, producerEpoch: producer.epoch, baseSequence: sequence)
                idem.nextSequence[tp] = sequence &+ Int32(batch.count)
                idempotence = idem
            }
            inFlightBatches += 1
            perBroker[leader.address, default: []].append(outgoing)
            perBrokerBytes[leader.address] = used + batchBytes
        }
        if sequenceGap { resetProducerID() }
        for (address, batches) in perBroker {
            result.requests.append(Request(address: address, batches: batches))
        }
        result.finished = shuttingDown && buffered == 0
        return result
    }

    /// A batch came back with a retriable error: put its records back at the front.
    /// `pin`: resend exactly this batch (idempotence keeps its sequence); otherwise the records may be re-batched.
    mutating func requeue(_ batch: Batch, error: KafkaError, retryAt: ContinuousClock.Instant, pin: Bool = false) {
        inFlightBatches -= 1
        var queue = queues.removeValue(forKey: batch.partition) ?? PartitionQueue()
        queue.pinned = pin && batch.producer.producerID >= 0 ? batch : nil
        for pending in batch.records.reversed() {
            queue.records.prepend(pending)
            queue.bytes += pending.size
        }
        queue.inFlight = false
        queue.retryAt = retryAt
        queue.lastError = error
        queues[batch.partition] = queue
    }

    /// A batch is done (delivered or failed for good).
    mutating func complete(_ batch: Batch) {
        inFlightBatches -= 1
        buffered -= batch.records.count
        if var queue = queues.removeValue(forKey: batch.partition) {
            queue.inFlight = false
            queue.lastError = nil
            if queue.records.isEmpty {
                queues[batch.partition] = nil
            } else {
                queues[batch.partition] = queue
            }
        }
    }

    /// Fails everything not in flight (used when the producer stops).
    mutating func removeAllQueued() -> [Pending] {
        var removed: [Pending] = []
        for tp in Array(queues.keys) {
            guard var queue = queues.removeValue(forKey: tp) else { continue }
            removed.append(contentsOf: queue.records)
            buffered -= queue.records.count
            queue.records.removeAll()
            queue.bytes = 0
            queues[tp] = queue.inFlight ? queue : nil
        }
        return removed
    }
}

extension ProducerAccumulator {
    /// Forgets the producer id (after a sequence error): the sender asks for a new one, and every partition's
    /// sequence restarts at 0. Pinned batches are re-batched under the new id.
    mutating func resetProducerID() {
        guard idempotence != nil else { return }
        idempotence?.producer = nil
        idempotence?.nextSequence = [:]
        for tp in Array(queues.keys) {
            guard var queue = queues.removeValue(forKey: tp) else { continue }
            queue.pinned = nil
            queues[tp] = queue
        }
    }
}
