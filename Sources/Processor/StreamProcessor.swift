import EmoCore
import EventLog
import PipelineTopics
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

/// Consumes `emoji`, counts reactions in tumbling windows and writes a ``ProcessorReport`` to `emoji-counts`
/// whenever windows close. Offsets are committed only after the report is appended, so a processor that dies
/// loses nothing: its partitions are re-read by whoever owns them next, and since every count names the offsets it
/// covers, the publisher's ledger drops what it already counted and adds what it had not.
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
    let commitFailures: Counter
    let repeatedRequests: Counter
    let evictedKeys: Counter
    let metrics: any MetricsFactory

    public init(log: any EventLog, configuration: Configuration, logger: Logger, metrics: any MetricsFactory) {
        self.log = log
        self.metrics = metrics
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "processor"] = "\(configuration.name)"
        self.logger = logger
        let dimensions = [("processor", configuration.name)]
        self.reactionsCounted = Counter(label: "emostream_processor_reactions_total", dimensions: dimensions, factory: metrics)
        self.reportsWritten = Counter(label: "emostream_processor_reports_total", dimensions: dimensions, factory: metrics)
        self.undecodable = Counter(label: "emostream_processor_undecodable_total", dimensions: dimensions, factory: metrics)
        self.lateReactions = Counter(label: "emostream_processor_late_reactions_total", dimensions: dimensions, factory: metrics)
        self.commitFailures = Counter(label: "emostream_processor_commit_failures_total", dimensions: dimensions, factory: metrics)
        self.repeatedRequests = Counter(
            label: "emostream_processor_repeated_requests_total", dimensions: dimensions, factory: metrics)
        self.evictedKeys = Counter(
            label: "emostream_processor_idempotency_keys_evicted_total", dimensions: dimensions, factory: metrics)
    }

    public func run() async throws {
        logger.info("stream processor started", metadata: ["window_ms": "\(configuration.window.lengthMillis)"])
        let window = configuration.window
        let maxPollWait = configuration.maxPollWait
        try await log.consume(
            PipelineTopics.reactions,
            ConsumerOptions(topic: PipelineTopics.reactions.name, group: configuration.group, start: .earliest, clientID: configuration.name),
            logger: logger, metrics: metrics, state: WindowAggregator(window: window),
            maxWait: { Self.pollWait(window: window, maxPollWait: maxPollWait) }
        ) { aggregator, poll, reader in
            try await handle(poll, aggregator: &aggregator, reader: reader)
        }
        logger.info("stream processor stopped")
    }

    /// Counts one poll's reactions and, when the watermark closes windows, reports them and commits.
    func handle(
        _ poll: TopicPoll<[Reaction]>, aggregator: inout WindowAggregator, reader: TopicReader<[Reaction]>
    ) async throws {
        let countFrom = CommitMetadata.countFrom(poll.committedMetadata, epoch: poll.epoch)
        if poll.assignment != aggregator.assignment || poll.generation != aggregator.generation {
            var metadata: Logger.Metadata = ["generation": "\(poll.generation)"]
            if !countFrom.isEmpty {
                // Partitions whose keys of idempotent requests are read back from before the committed counts.
                metadata["count_from"] = "\(countFrom.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))"
            }
            logger.info("partitions assigned: \(poll.assignment)", metadata: metadata)
        }
        if let epoch = poll.epoch, let known = aggregator.epoch, epoch != known {
            logger.warning(
                "the emoji topic was created again (a broker that lost its data): counting it from its start",
                metadata: ["epoch": "\(epoch)", "previous": "\(known)"])
        }
        aggregator.assign(poll.assignment, generation: poll.generation, epoch: poll.epoch, countFrom: countFrom)
        let lateBefore = aggregator.lateReactions
        let repeatedBefore = aggregator.repeatedRequests
        let evictedBefore = aggregator.evictedKeys
        var reactions = 0
        for record in poll.records {
            guard let batch = record.value else {
                undecodable.increment()
                aggregator.skip(partition: record.partition, offset: record.offset, timestamp: record.timestamp)
                continue
            }
            aggregator.add(
                partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                key: record.key.map { Array($0.readableBytesView) },
                reactions: batch.lazy.map { (channel: $0.channel, emoji: $0.emoji) })
            reactions += batch.count
        }
        reactionsCounted.increment(by: reactions)
        if aggregator.lateReactions > lateBefore {
            lateReactions.increment(by: aggregator.lateReactions - lateBefore)
        }
        if aggregator.repeatedRequests > repeatedBefore {
            repeatedRequests.increment(by: aggregator.repeatedRequests - repeatedBefore)
        }
        if aggregator.evictedKeys > evictedBefore {
            // A full history forgot keys still within the window: a retry of one of them would count again.
            evictedKeys.increment(by: aggregator.evictedKeys - evictedBefore)
            logger.warning(
                "idempotency keys forgotten before their window ended (the history of a partition is full)",
                metadata: ["evicted": "\(aggregator.evictedKeys - evictedBefore)"])
        }
        guard let watermark = poll.watermark,
            let report = aggregator.close(upTo: watermark, processor: configuration.name, epoch: poll.epoch)
        else { return }
        try await log.append([report], to: PipelineTopics.windowReports)
        reportsWritten.increment()
        do {
            let commits = aggregator.commits()
            try await reader.commit(
                commits.mapValues(\.offset),
                metadata: commits.compactMapValues { $0.countFrom.map { CommitMetadata.encode(countFrom: $0, epoch: poll.epoch) } })
        } catch {
            // A rebalance took the partitions away meanwhile: their next owner re-reads them from the last commit,
            // and the publisher's ledger counts each offset once whichever report brings it.
            commitFailures.increment()
            logger.warning("could not commit offsets; the partitions' next owner re-reads them", metadata: ["error": "\(error)"])
        }
        if !report.windows.isEmpty {
            logger.debug("windows closed", metadata: ["windows": "\(report.windows.map(\.start))"])
        }
    }

    /// Wake up at the next window end so windows close promptly, but at least every `maxPollWait`.
    static func pollWait(window: WindowSpec, maxPollWait: Duration) -> Duration {
        let now = EpochMillis.now()
        let untilBoundary = window.end(of: now) - now + 1
        return min(.milliseconds(untilBoundary), maxPollWait)
    }
}

/// What a processor commits beside an offset that lies before where counting resumes (see
/// ``WindowAggregator/Commit``): `emostream.count-from=<offset>` and, when the log has one, `;epoch=<topic id>`.
/// Metadata of another incarnation of the topic (a broker that lost its data) is ignored.
enum CommitMetadata {
    static let prefix = "emostream.count-from="

    static func encode(countFrom: Int64, epoch: String?) -> String {
        prefix + "\(countFrom)" + (epoch.map { ";epoch=\($0)" } ?? "")
    }

    static func countFrom(_ metadata: [Int: String], epoch: String?) -> [Int: Int64] {
        var result: [Int: Int64] = [:]
        for (partition, text) in metadata where text.hasPrefix(prefix) {
            let fields = text.dropFirst(prefix.count).split(separator: ";", omittingEmptySubsequences: false)
            guard let first = fields.first, let offset = Int64(first), offset >= 0 else { continue }
            let committedEpoch = fields.dropFirst().first { $0.hasPrefix("epoch=") }.map { String($0.dropFirst(6)) }
            if let committedEpoch, committedEpoch != epoch { continue }
            result[partition] = offset
        }
        return result
    }
}
