import NIOCore
import Testing

@testable import KafkaWire

@Suite struct ProducerAccumulatorTests {
    let tp = KafkaTopicPartition(topic: "t", partition: 0)
    let broker = KafkaBrokerAddress(host: "b", port: 1)

    var metadata: ClusterMetadata {
        var m = ClusterMetadata()
        m.brokers[7] = broker
        m.topics["t"] = .init(leaders: [7, 7])
        return m
    }

    var configuration: KafkaProducerConfiguration {
        var c = KafkaProducerConfiguration(client: KafkaClientConfiguration(bootstrapServers: [broker]))
        c.linger = .milliseconds(10)
        c.batchSizeBytes = 1000
        c.bufferCapacity = 4
        c.deliveryTimeout = .seconds(1)
        return c
    }

    func pending(_ size: Int, at time: ContinuousClock.Instant, tracker: DeliveryTracker, index: Int) -> ProducerAccumulator.Pending {
        let record = OutgoingRecord(key: nil, value: ByteBuffer(repeating: 0, count: size), headers: [], timestamp: 0)
        return .init(record: record, size: size, tracker: tracker, index: index, enqueuedAt: time)
    }

    @Test func lingerThenSendOneBatchPerPartition() {
        var acc = ProducerAccumulator()
        let t0 = ContinuousClock.now
        let tracker = DeliveryTracker(count: 2)
        _ = acc.enqueue(pending(100, at: t0, tracker: tracker, index: 0), to: tp, capacity: 4, batchSize: 1000)
        _ = acc.enqueue(pending(100, at: t0, tracker: tracker, index: 1), to: tp, capacity: 4, batchSize: 1000)
        let early = acc.drain(now: t0.advanced(by: .milliseconds(5)), metadata: metadata, configuration: configuration)
        #expect(early.requests.isEmpty)
        #expect(early.nextDeadline == t0.advanced(by: .milliseconds(10)))
        let due = acc.drain(now: t0.advanced(by: .milliseconds(10)), metadata: metadata, configuration: configuration)
        #expect(due.requests.count == 1)
        #expect(due.requests.first?.address == broker)
        #expect(due.requests.first?.batches.first?.records.count == 2)
        // In flight: the partition is muted until the batch completes.
        _ = acc.enqueue(pending(100, at: t0, tracker: tracker, index: 1), to: tp, capacity: 4, batchSize: 1000)
        #expect(acc.drain(now: t0.advanced(by: .seconds(0.5)), metadata: metadata, configuration: configuration).requests.isEmpty)
        acc.complete(due.requests[0].batches[0])
        #expect(acc.buffered == 1)
        #expect(acc.drain(now: t0.advanced(by: .seconds(0.5)), metadata: metadata, configuration: configuration).requests.count == 1)
    }

    @Test func fullBatchGoesAtOnceAndCapacityIsBounded() {
        var acc = ProducerAccumulator()
        let t0 = ContinuousClock.now
        let tracker = DeliveryTracker(count: 5)
        guard case .enqueued(let wake0) = acc.enqueue(pending(600, at: t0, tracker: tracker, index: 0), to: tp, capacity: 4, batchSize: 1000)
        else { Issue.record("not enqueued"); return }
        #expect(wake0)  // first record of an empty queue
        guard case .enqueued(let wake1) = acc.enqueue(pending(600, at: t0, tracker: tracker, index: 1), to: tp, capacity: 4, batchSize: 1000)
        else { Issue.record("not enqueued"); return }
        #expect(wake1)  // the batch is full
        let drain = acc.drain(now: t0, metadata: metadata, configuration: configuration)
        // 1200 bytes > batch cap: the first record alone, the second waits for the next batch.
        #expect(drain.requests.first?.batches.first?.records.count == 1)
        for i in 2..<4 {
            _ = acc.enqueue(pending(10, at: t0, tracker: tracker, index: i), to: tp, capacity: 4, batchSize: 1000)
        }
        guard case .full = acc.enqueue(pending(10, at: t0, tracker: tracker, index: 4), to: tp, capacity: 4, batchSize: 1000)
        else { Issue.record("expected a full buffer"); return }
    }

    @Test func retriesKeepOrderAndExpireAfterTheDeliveryTimeout() {
        var acc = ProducerAccumulator()
        let t0 = ContinuousClock.now
        let tracker = DeliveryTracker(count: 3)
        for i in 0..<3 {
            _ = acc.enqueue(pending(10, at: t0, tracker: tracker, index: i), to: tp, capacity: 4, batchSize: 25)
        }
        var configuration = self.configuration
        configuration.batchSizeBytes = 25
        let first = acc.drain(now: t0.advanced(by: .milliseconds(10)), metadata: metadata, configuration: configuration)
        let batch = first.requests[0].batches[0]
        #expect(batch.records.map(\.index) == [0, 1])
        acc.requeue(batch, error: KafkaError(.connectionClosed, "x"), retryAt: t0.advanced(by: .milliseconds(100)))
        let waiting = acc.drain(now: t0.advanced(by: .milliseconds(50)), metadata: metadata, configuration: configuration)
        #expect(waiting.requests.isEmpty)
        let retry = acc.drain(now: t0.advanced(by: .milliseconds(100)), metadata: metadata, configuration: configuration)
        #expect(retry.requests[0].batches[0].records.map(\.index) == [0, 1])
        acc.requeue(retry.requests[0].batches[0], error: KafkaError(.connectionClosed, "x"), retryAt: t0)
        let expired = acc.drain(now: t0.advanced(by: .seconds(2)), metadata: metadata, configuration: configuration)
        #expect(expired.expired.map(\.0.index) == [0, 1, 2])
        #expect(expired.expired.allSatisfy { $0.1.code == .deliveryTimeout && $0.1.message.contains("last error") })
        #expect(acc.buffered == 0)
    }

    @Test func unknownLeaderAsksForMetadata() {
        var acc = ProducerAccumulator()
        let t0 = ContinuousClock.now
        let other = KafkaTopicPartition(topic: "unknown", partition: 0)
        _ = acc.enqueue(pending(10, at: t0, tracker: DeliveryTracker(count: 1), index: 0), to: other, capacity: 4, batchSize: 25)
        let drain = acc.drain(now: t0.advanced(by: .seconds(0.1)), metadata: metadata, configuration: configuration)
        #expect(drain.requests.isEmpty)
        #expect(drain.needsMetadata)
    }

    @Test func idempotentBatchesGetSequencesAndRetryUnchanged() {
        var acc = ProducerAccumulator()
        acc.idempotence = .init()
        let t0 = ContinuousClock.now
        let tracker = DeliveryTracker(count: 4)
        for i in 0..<2 {
            _ = acc.enqueue(pending(10, at: t0, tracker: tracker, index: i), to: tp, capacity: 4, batchSize: 1000)
        }
        let later = t0.advanced(by: .milliseconds(20))
        // No producer id yet: nothing is sent.
        #expect(acc.drain(now: later, metadata: metadata, configuration: configuration).requests.isEmpty)
        acc.idempotence?.producer = (id: 9, epoch: 2)
        let first = acc.drain(now: later, metadata: metadata, configuration: configuration).requests[0].batches[0]
        #expect(first.producer.producerID == 9)
        #expect(first.producer.producerEpoch == 2)
        #expect(first.producer.baseSequence == 0)
        // More records arrive; the failed batch is resent exactly (2 records, sequence 0), then the rest at 2.
        for i in 2..<4 {
            _ = acc.enqueue(pending(10, at: t0, tracker: tracker, index: i), to: tp, capacity: 4, batchSize: 1000)
        }
        acc.requeue(first, error: KafkaError(.timeout, "x"), retryAt: later, pin: true)
        let retry = acc.drain(now: later, metadata: metadata, configuration: configuration).requests[0].batches[0]
        #expect(retry.records.map(\.index) == [0, 1])
        #expect(retry.producer.baseSequence == 0)
        acc.complete(retry)
        let next = acc.drain(now: later, metadata: metadata, configuration: configuration).requests[0].batches[0]
        #expect(next.records.map(\.index) == [2, 3])
        #expect(next.producer.baseSequence == 2)
        // A reset forgets the id and restarts sequences.
        acc.complete(next)
        acc.resetProducerID()
        #expect(acc.idempotence?.producer == nil)
        #expect(acc.idempotence?.nextSequence.isEmpty == true)
    }
}
