import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import ServiceLifecycle

/// Consumes `emoji`, counts reactions in tumbling windows and writes a ``ProcessorReport`` to `emoji-counts`
/// whenever windows close. Offsets are committed only after the report is appended, so a processor that dies
/// loses nothing: its partitions are re-read by whoever owns them next and the publisher drops duplicates.
public struct StreamProcessor: Service {
    public struct Configuration: Sendable {
        public var window: WindowSpec
        /// Unique per instance; appears in reports and logs.
        public var name: String
        /// The consumer group the processors share.
        public var group: String
        /// Upper bound of one poll, so that an idle processor still reports progress.
        public var maxPollWait: Duration

        public init(
            window: WindowSpec = WindowSpec(lengthMillis: 2000), name: String = "processor-1",
            group: String = "emostream-processors", maxPollWait: Duration = .milliseconds(500)
        ) {
            self.window = window
            self.name = name
            self.group = group
            self.maxPollWait = maxPollWait
        }
    }

    let log: any EventLog
    let configuration: Configuration
    let logger: Logger
    let reactionsCounted: Counter
    let reportsWritten: Counter
    let undecodable: Counter
    let lateReactions: Counter

    public init(log: any EventLog, configuration: Configuration, logger: Logger, metrics: any MetricsFactory) {
        self.log = log
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "processor"] = "\(configuration.name)"
        self.logger = logger
        let dimensions = [("processor", configuration.name)]
        self.reactionsCounted = Counter(label: "emostream_processor_reactions_total", dimensions: dimensions, factory: metrics)
        self.reportsWritten = Counter(label: "emostream_processor_reports_total", dimensions: dimensions, factory: metrics)
        self.undecodable = Counter(label: "emostream_processor_undecodable_total", dimensions: dimensions, factory: metrics)
        self.lateReactions = Counter(label: "emostream_processor_late_reactions_total", dimensions: dimensions, factory: metrics)
    }

    public func run() async throws {
        let consumer = try await log.makeConsumer(
            ConsumerOptions(
                topic: Topics.reactions, group: configuration.group, start: .earliest, clientID: configuration.name))
        logger.info("stream processor started", metadata: ["window_ms": "\(configuration.window.lengthMillis)"])
        do {
            try await cancelWhenGracefulShutdown {
                try await process(consumer)
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await consumer.close()
        logger.info("stream processor stopped")
    }

    func process(_ consumer: any LogConsumer) async throws {
        var aggregator = WindowAggregator(window: configuration.window)
        let decoder = JSONDecoder()
        var lateSeen = 0
        while !Task.isCancelled {
            let poll = try await consumer.poll(maxWait: pollWait(aggregator))
            if poll.assignment != aggregator.assignment || poll.generation != aggregator.generation {
                logger.info("partitions assigned: \(poll.assignment)", metadata: ["generation": "\(poll.generation)"])
            }
            aggregator.assign(poll.assignment, generation: poll.generation)
            for record in poll.records {
                guard let reaction = try? decoder.decode(Reaction.self, from: record.value) else {
                    undecodable.increment()
                    aggregator.skip(partition: record.partition, offset: record.offset)
                    continue
                }
                aggregator.add(
                    partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                    channel: reaction.channel, emoji: reaction.emoji)
            }
            reactionsCounted.increment(by: poll.records.count)
            if aggregator.lateReactions > lateSeen {
                lateReactions.increment(by: aggregator.lateReactions - lateSeen)
                lateSeen = aggregator.lateReactions
            }
            guard let watermark = poll.watermark,
                let report = aggregator.close(upTo: watermark, processor: configuration.name)
            else { continue }
            let value = try JSONEncoder().encode(report)
            try await log.append([LogRecord(value: ByteBuffer(data: value))], to: Topics.windowResults)
            reportsWritten.increment()
            do {
                try await consumer.commit(aggregator.committableOffsets())
            } catch {
                // A rebalance took the partitions away meanwhile: their next owner re-reads them from the last
                // commit and the publisher drops what this report already contributed.
                logger.info("could not commit offsets", metadata: ["error": "\(error)"])
            }
            if !report.windows.isEmpty {
                logger.debug("windows closed", metadata: ["windows": "\(report.windows.map(\.start))"])
            }
        }
    }

    /// Wake up at the next window end so windows close promptly, but at least every `maxPollWait`.
    func pollWait(_ aggregator: WindowAggregator) -> Duration {
        let now = EpochMillis.now()
        let untilBoundary = configuration.window.end(of: now) - now + 1
        return min(.milliseconds(untilBoundary), configuration.maxPollWait)
    }
}
