import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import KafkaWire

@Suite(.enabled(if: TestBroker.isAvailable, "needs EMOSTREAM_TEST_KAFKA_BROKERS (scripts/with-kafka.sh)"))
struct BrokerTests {
    func admin() throws -> KafkaAdminClient {
        KafkaAdminClient(configuration: try TestBroker.client("kw-admin"), logger: testLogger("admin"))
    }

    func producer(linger: Duration = .milliseconds(5)) throws -> KafkaProducer {
        var config = KafkaProducerConfiguration(client: try TestBroker.client("kw-producer"))
        config.linger = linger
        return KafkaProducer(configuration: config, logger: testLogger("producer"))
    }

    func manualConsumer(_ starts: [KafkaTopicPartition: KafkaStartOffset]) throws -> KafkaConsumer {
        var config = KafkaConsumerConfiguration(client: try TestBroker.client("kw-reader"), subscription: .partitions(starts))
        config.fetchMaxWait = .milliseconds(100)
        return KafkaConsumer(configuration: config, logger: testLogger("consumer"))
    }

    @Test func ensureTopicsIsIdempotentAndListed() async throws {
        let admin = try admin()
        let a = uniqueName("admin-a")
        let b = uniqueName("admin-b")
        let first = try await admin.ensureTopics([(a, 3), (b, 1)])
        #expect(first == [a: 3, b: 1])
        let second = try await admin.ensureTopics([(a, 3)])
        #expect(second == [a: 3])
        let all = try await admin.listTopics()
        #expect(all[a] == 3)
        #expect(all[b] == 1)
        #expect(try await admin.partitionCount(of: a) == 3)
        await #expect(throws: KafkaError.self) { try await admin.partitionCount(of: uniqueName("missing")) }
        await admin.close()
    }

    @Test func produceConsumeRoundTripWithKeysHeadersAndTimestamps() async throws {
        let topic = uniqueName("roundtrip")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 2)])
        await admin.close()
        let producer = try producer()
        let sent = [
            KafkaProducerMessage(
                topic: topic, partition: 0, key: value("key-1"), value: value("value-1"),
                headers: [KafkaHeader(key: "h1", value: value("x")), KafkaHeader(key: "h2", value: nil)],
                timestamp: 1_700_000_000_123),
            KafkaProducerMessage(topic: topic, partition: 0, key: nil, value: value(""), timestamp: 1_700_000_000_124),
            KafkaProducerMessage(topic: topic, partition: 1, key: value("k"), value: nil, timestamp: 1_700_000_000_125),
            KafkaProducerMessage(
                topic: topic, partition: 0, key: ByteBuffer(bytes: [0, 255, 1]), value: ByteBuffer(bytes: Array(0...255)),
                timestamp: 1_700_000_000_126),
        ]
        let metadata = try await withServices([producer]) {
            try await producer.sendAndAwait(sent)
        }
        #expect(metadata.map(\.partition) == [0, 0, 1, 0])
        #expect(metadata.map(\.offset) == [0, 1, 0, 2])
        #expect(metadata.map(\.timestamp) == sent.map { $0.timestamp! })
        await #expect(throws: KafkaError.self) { try await producer.sendAndAwait(sent) }

        let tp0 = KafkaTopicPartition(topic: topic, partition: 0)
        let tp1 = KafkaTopicPartition(topic: topic, partition: 1)
        let consumer = try manualConsumer([tp0: .earliest, tp1: .earliest])
        let received = try await withServices([consumer]) {
            try await pollUntil(consumer) { all, _ in all.count >= 4 }
        }
        let byPartition = Dictionary(grouping: received, by: \.partition)
        let p0 = byPartition[0] ?? []
        #expect(p0.map(\.offset) == [0, 1, 2])
        #expect(p0.map(\.key) == [value("key-1"), nil, ByteBuffer(bytes: [0, 255, 1])])
        #expect(p0.map(\.value) == [value("value-1"), value(""), ByteBuffer(bytes: Array(0...255))])
        #expect(p0[0].headers == [KafkaHeader(key: "h1", value: value("x")), KafkaHeader(key: "h2", value: nil)])
        #expect(p0.map(\.timestamp) == [1_700_000_000_123, 1_700_000_000_124, 1_700_000_000_126])
        let p1 = byPartition[1] ?? []
        #expect(p1.count == 1)
        #expect(p1.first?.key == value("k"))
        #expect(p1.first?.value == nil)
        #expect(p1.first?.timestamp == 1_700_000_000_125)
    }

    @Test func keyedBatchesLandOnMurmur2PartitionsInOrder() async throws {
        let topic = uniqueName("keyed")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 6)])
        await admin.close()
        let producer = try producer()
        let keys = (0..<20).map { "user-\($0)" }
        var sent: [KafkaProducerMessage] = []
        for i in 0..<600 {
            let key = keys[i % keys.count]
            sent.append(KafkaProducerMessage(topic: topic, key: value(key), value: value("\(key)#\(i)")))
        }
        let toSend = sent
        let metadata = try await withServices([producer]) {
            // Several concurrent calls, each a batch across partitions.
            try await withThrowingTaskGroup(of: [KafkaRecordMetadata].self) { group in
                for chunk in stride(from: 0, to: toSend.count, by: 150) {
                    let slice = Array(toSend[chunk..<min(chunk + 150, toSend.count)])
                    group.addTask { try await producer.sendAndAwait(slice) }
                }
                var all: [KafkaRecordMetadata] = []
                for try await part in group { all += part }
                return all
            }
        }
        #expect(metadata.count == 600)
        let starts = Dictionary(uniqueKeysWithValues: (0..<6).map { (KafkaTopicPartition(topic: topic, partition: $0), KafkaStartOffset.earliest) })
        let consumer = try manualConsumer(starts)
        let received = try await withServices([consumer]) {
            try await pollUntil(consumer) { all, _ in all.count >= 600 }
        }
        #expect(received.count == 600)
        for message in received {
            let key = String(buffer: message.key!)
            let expected = Array(key.utf8).withUnsafeBytes { Murmur2.partition(forKey: $0, partitions: 6) }
            #expect(message.partition == expected, "key \(key)")
        }
        // Within a partition, offsets increase and each key's records keep their send order.
        for (_, messages) in Dictionary(grouping: received, by: \.partition) {
            #expect(messages.map(\.offset) == messages.map(\.offset).sorted())
            for (_, perKey) in Dictionary(grouping: messages, by: { String(buffer: $0.key!) }) {
                let seq = perKey.map { Int(String(buffer: $0.value!).split(separator: "#")[1])! }
                // Chunks are sent concurrently, so order is guaranteed within each sendAndAwait call.
                for chunk in Dictionary(grouping: seq, by: { $0 / 150 }).values {
                    #expect(chunk == chunk.sorted())
                }
            }
        }
    }

    @Test func idempotentProducerRoundTrip() async throws {
        let topic = uniqueName("idempotent")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 2)])
        await admin.close()
        var config = KafkaProducerConfiguration(client: try TestBroker.client("kw-producer"))
        config.enableIdempotence = true
        config.batchSizeBytes = 100
        let producer = KafkaProducer(configuration: config, logger: testLogger("producer"))
        let metadata = try await withServices([producer]) {
            var all: [KafkaRecordMetadata] = []
            for round in 0..<3 {
                all += try await producer.sendAndAwait(
                    (0..<20).map { KafkaProducerMessage(topic: topic, partition: $0 % 2, value: value("r\(round)-\($0)")) })
            }
            return all
        }
        #expect(metadata.filter { $0.partition == 0 }.map(\.offset) == Array(0..<30))
        #expect(metadata.filter { $0.partition == 1 }.map(\.offset) == Array(0..<30))
        let consumer = try manualConsumer([
            KafkaTopicPartition(topic: topic, partition: 0): .earliest, KafkaTopicPartition(topic: topic, partition: 1): .earliest,
        ])
        let received = try await withServices([consumer]) {
            try await pollUntil(consumer) { all, _ in all.count >= 60 }
        }
        #expect(received.count == 60)
    }

    @Test func fetchingPausesAtTheBufferBoundAndResumesOnPoll() async throws {
        let topic = uniqueName("bounded")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 1)])
        await admin.close()
        let producer = try producer()
        try await withServices([producer]) {
            for round in 0..<10 {
                _ = try await producer.sendAndAwait((0..<10).map { KafkaProducerMessage(topic: topic, value: value("b\(round * 10 + $0)")) })
            }
        }
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        var config = KafkaConsumerConfiguration(client: try TestBroker.client("kw-reader"), subscription: .partitions([tp: .earliest]))
        config.fetchMaxWait = .milliseconds(100)
        config.maxBufferedRecords = 10
        let consumer = KafkaConsumer(configuration: config, logger: testLogger("consumer"))
        let received = try await withServices([consumer]) {
            var all: [KafkaConsumerMessage] = []
            while all.count < 100 {
                let batch = try await consumer.poll(maxMessages: 3, maxWait: .milliseconds(200))
                #expect(batch.messages.count <= 3)
                all += batch.messages
                // The buffer never holds more than maxBufferedRecords.
                #expect(consumer.state.withLock { $0.buffer.count } <= 10)
            }
            return all
        }
        #expect(received.map(\.offset) == Array(0..<100))
    }

    @Test func sendWaitsForBufferSpace() async throws {
        let topic = uniqueName("backpressure")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 2)])
        await admin.close()
        var config = KafkaProducerConfiguration(client: try TestBroker.client("kw-producer"))
        config.bufferCapacity = 5
        config.batchSizeBytes = 64
        let producer = KafkaProducer(configuration: config, logger: testLogger("producer"))
        let metadata = try await withServices([producer]) {
            try await producer.sendAndAwait((0..<50).map { KafkaProducerMessage(topic: topic, partition: $0 % 2, value: value("v\($0)")) })
        }
        #expect(metadata.count == 50)
        #expect(metadata.filter { $0.partition == 0 }.map(\.offset) == Array(0..<25))
        #expect(metadata.filter { $0.partition == 1 }.map(\.offset) == Array(0..<25))
    }

    @Test func autoOffsetResetLatestSkipsOldRecords() async throws {
        let topic = uniqueName("latest")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 1)])
        await admin.close()
        let producer = try producer()
        var config = KafkaConsumerConfiguration(
            client: try TestBroker.client("kw-latest"), subscription: .group(id: uniqueName("g-latest"), topics: [topic]))
        config.autoOffsetReset = .latest
        config.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: config, logger: testLogger("consumer"))
        let received = try await withServices([producer, consumer]) {
            // Old records in two batches (Tansu's ListOffsets LATEST would answer base offset + 1 of the last one).
            _ = try await producer.sendAndAwait((0..<3).map { KafkaProducerMessage(topic: topic, value: value("old-\($0)")) })
            _ = try await producer.sendAndAwait((3..<5).map { KafkaProducerMessage(topic: topic, value: value("old-\($0)")) })
            // Wait until the consumer owns the partition and knows its position.
            let tp = KafkaTopicPartition(topic: topic, partition: 0)
            let early = try await pollUntil(consumer) { _, batch in batch.progress[tp] != nil }
            #expect(early.isEmpty)
            _ = try await producer.sendAndAwait((0..<3).map { KafkaProducerMessage(topic: topic, value: value("new-\($0)")) })
            return try await pollUntil(consumer) { all, _ in all.count >= 3 }
        }
        #expect(received.map { String(buffer: $0.value!) } == ["new-0", "new-1", "new-2"])
        #expect(received.map(\.offset) == [5, 6, 7])
    }

    @Test func manualAssignmentTail() async throws {
        let topic = uniqueName("tail")
        let admin = try admin()
        _ = try await admin.ensureTopics([(topic, 1)])
        await admin.close()
        let producer = try producer()
        try await withServices([producer]) {
            _ = try await producer.sendAndAwait((0..<6).map { KafkaProducerMessage(topic: topic, partition: 0, value: value("r\($0)")) })
            _ = try await producer.sendAndAwait((6..<10).map { KafkaProducerMessage(topic: topic, partition: 0, value: value("r\($0)")) })
        }
        let tp = KafkaTopicPartition(topic: topic, partition: 0)
        let consumer = try manualConsumer([tp: .tail(3)])
        let (received, last) = try await withServices([consumer]) {
            var lastBatch: KafkaPollBatch?
            let messages = try await pollUntil(consumer) { all, batch in
                lastBatch = batch
                return all.count >= 3 && batch.progress[tp]?.isCaughtUp == true
            }
            return (messages, lastBatch)
        }
        #expect(received.map(\.offset) == [7, 8, 9])
        #expect(last?.generation == -1)
        #expect(last?.progress[tp]?.highWatermark == 10)
        #expect(last?.progress[tp]?.position == 10)

        let tooMany = try manualConsumer([tp: .tail(50)])
        let all = try await withServices([tooMany]) {
            try await pollUntil(tooMany) { all, _ in all.count >= 10 }
        }
        #expect(all.map(\.offset) == Array(0..<10))
    }
}
