import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle

/// Consumes `emoji-counts`, merges the processors' reports of each window into one burst per channel, numbers
/// the bursts and appends them, in order, to `publisher-emojis`.
public struct MainPublisher: Service {
    public struct Configuration: Sendable {
        public var scaleDown: ScaleDown
        public var group: String
        public var maxPollWait: Duration

        public init(
            scaleDown: ScaleDown = ScaleDown(), group: String = "emostream-publisher",
            maxPollWait: Duration = .milliseconds(500)
        ) {
            self.scaleDown = scaleDown
            self.group = group
            self.maxPollWait = maxPollWait
        }
    }

    let log: any EventLog
    let configuration: Configuration
    let logger: Logger
    let burstsPublished: Counter
    let duplicatesDropped: Counter
    let stats: PipelineStats?

    public init(
        log: any EventLog, configuration: Configuration, logger: Logger, metrics: any MetricsFactory,
        stats: PipelineStats? = nil
    ) {
        self.log = log
        self.stats = stats
        self.configuration = configuration
        self.logger = logger
        self.burstsPublished = Counter(label: "emostream_bursts_published_total", factory: metrics)
        self.duplicatesDropped = Counter(label: "emostream_publisher_duplicate_contributions_total", factory: metrics)
    }

    public func run() async throws {
        let partitions = try await log.partitionCount(of: Topics.reactions)
        let consumer = try await log.makeConsumer(
            ConsumerOptions(topic: Topics.windowResults, group: configuration.group, start: .earliest, clientID: "publisher"))
        logger.info("main publisher started", metadata: ["source_partitions": "\(partitions)"])
        do {
            try await cancelWhenGracefulShutdown {
                try await publish(consumer, sourcePartitions: partitions)
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await consumer.close()
        logger.info("main publisher stopped")
    }

    func publish(_ consumer: any LogConsumer, sourcePartitions: Int) async throws {
        var assembler = BurstAssembler(sourcePartitions: sourcePartitions, scaleDown: configuration.scaleDown)
        let decoder = JSONDecoder()
        let encoder = JSONEncoder()
        while !Task.isCancelled {
            let poll = try await consumer.poll(maxWait: configuration.maxPollWait)
            guard !poll.records.isEmpty else { continue }
            var next: [Int: Int64] = [:]
            for record in poll.records {
                next[record.partition] = record.offset + 1
                guard let report = try? decoder.decode(ProcessorReport.self, from: record.value) else {
                    logger.warning("skipping an undecodable processor report", metadata: ["offset": "\(record.offset)"])
                    continue
                }
                let duplicates = assembler.add(report)
                if duplicates > 0 { duplicatesDropped.increment(by: duplicates) }
            }
            let bursts = assembler.drain()
            if !bursts.isEmpty {
                let records = try bursts.map { burst in
                    LogRecord(key: ByteBuffer(string: burst.channel), value: ByteBuffer(data: try encoder.encode(burst)))
                }
                try await log.append(records, to: Topics.bursts)
                burstsPublished.increment(by: bursts.count)
                stats?.burstsPublished(bursts.count)
            }
            // Reports of windows still pending are needed again after a restart: commit only past complete ones.
            if assembler.pendingWindowCount == 0 {
                try await consumer.commit(next)
            }
        }
    }
}
