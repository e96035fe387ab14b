import EventLog
import KafkaWire
import NIOCore
import Synchronization

/// A ``LogConsumer`` over a `KafkaConsumer`, which ``KafkaEventLog/withConsumer(_:_:)`` runs for the scope of
/// its body.
///
/// Its watermark is event-time completeness from what Kafka reports: a partition that is caught up (read up to its
/// high watermark as of the last fetch) is complete up to the time of that fetch; one that is behind is complete up
/// to the newest timestamp read from it. The minimum over the owned partitions, less the lateness allowance for
/// records still being batched by producers, is the watermark.
final class KafkaLogConsumer: LogConsumer {
    let consumer: KafkaConsumer
    /// The Kafka topic name (prefix included).
    let topic: String
    let maxRecordsPerPoll: Int
    let lateness: Int64
    private let state = Mutex(State())

    struct State {
        var generation: Int32 = .min
        /// partition → newest record timestamp read in this generation.
        var newest: [Int: Int64] = [:]
    }

    init(consumer: KafkaConsumer, topic: String, maxRecordsPerPoll: Int, lateness: Duration) {
        self.consumer = consumer
        self.topic = topic
        self.maxRecordsPerPoll = maxRecordsPerPoll
        self.lateness = lateness.components.seconds * 1000 + lateness.components.attoseconds / 1_000_000_000_000_000
    }

    func poll(maxWait: Duration) async throws -> PollResult {
        let batch: KafkaPollBatch
        do {
            batch = try await consumer.poll(maxMessages: maxRecordsPerPoll, maxWait: maxWait)
        } catch let error as KafkaError where error.code == .shutdown {
            throw CancellationError()
        } catch let error as KafkaError where error.code == .fenced {
            throw EventLogError.fenced(error.message)
        } catch let error as KafkaError {
            throw EventLogError.unavailable(error.description)
        }
        let records = batch.messages.map { message in
            ConsumedRecord(
                partition: message.partition, offset: message.offset, key: message.key,
                value: message.value ?? ByteBuffer(), timestamp: message.timestamp)
        }
        let owned = batch.assignment.filter { $0.topic == topic }
        let assignment = owned.map(\.partition).sorted()
        let watermark: Int64? = state.withLock { state in
            if state.generation != batch.generation {
                state.generation = batch.generation
                state.newest = [:]
            }
            for record in records {
                state.newest[record.partition] = max(state.newest[record.partition] ?? .min, record.timestamp)
            }
            guard !owned.isEmpty else { return nil }
            var complete = Int64.max
            for partition in owned {
                guard let progress = batch.progress[partition] else { return nil }
                if progress.isCaughtUp {
                    complete = min(complete, progress.fetchedAtMillis)
                } else if let newest = state.newest[partition.partition] {
                    complete = min(complete, newest)
                } else {
                    return nil
                }
            }
            return complete - lateness
        }
        // A partition not fetched yet is not caught up.
        let caughtUp = owned.allSatisfy { batch.progress[$0]?.isCaughtUp ?? false }
        var committedMetadata: [Int: String] = [:]
        for (tp, text) in batch.committedMetadata where tp.topic == topic { committedMetadata[tp.partition] = text }
        return PollResult(
            records: records, watermark: watermark, assignment: assignment, generation: Int64(batch.generation),
            epoch: consumer.topicID(of: topic), caughtUp: caughtUp, committedMetadata: committedMetadata)
    }

    func commit(_ offsets: [Int: Int64], metadata: [Int: String]) async throws {
        guard !offsets.isEmpty else { return }
        var kafkaOffsets: [KafkaTopicPartition: Int64] = [:]
        var kafkaMetadata: [KafkaTopicPartition: String] = [:]
        for (partition, offset) in offsets {
            let tp = KafkaTopicPartition(topic: topic, partition: partition)
            kafkaOffsets[tp] = offset
            kafkaMetadata[tp] = metadata[partition]
        }
        try await consumer.commit(kafkaOffsets, metadata: kafkaMetadata)
    }
}
