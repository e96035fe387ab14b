import EmoCore
import EventLog
import PipelineTopics
import DequeModule
import Logging
import Metrics
import ServiceLifecycle

/// Consumes `emoji-counts`, merges the processors' reports of each window into one burst per channel, numbers
/// the bursts and appends them, in order, to `publisher-emojis`.
public struct MainPublisher: Service {
    public struct Configuration: Sendable {
        public var scaleDown: ScaleDown
        public var group: String
        public var maxPollWait: Duration
        /// Bursts read back from the end of `publisher-emojis` at start to resume `seq` numbering.
        public var recoveryTail: Int

        public init(
            scaleDown: ScaleDown = ScaleDown(), group: String = "emostream-publisher",
            maxPollWait: Duration = .milliseconds(500), recoveryTail: Int = 10_000
        ) {
            self.scaleDown = scaleDown
            self.group = group
            self.maxPollWait = maxPollWait
            self.recoveryTail = recoveryTail
        }
    }

    let log: any EventLog
    let configuration: Configuration
    let logger: Logger
    let burstsPublished: Counter
    let duplicatesDropped: Counter
    let stats: PipelineStats?
    let metrics: any MetricsFactory

    public init(
        log: any EventLog, configuration: Configuration, logger: Logger, metrics: any MetricsFactory,
        stats: PipelineStats? = nil
    ) {
        self.log = log
        self.metrics = metrics
        self.stats = stats
        self.configuration = configuration
        self.logger = logger
        self.burstsPublished = Counter(label: "emostream_bursts_published_total", factory: metrics)
        self.duplicatesDropped = Counter(label: "emostream_publisher_duplicate_contributions_total", factory: metrics)
    }

    public func run() async throws {
        let partitions = try await log.partitionCount(of: PipelineTopics.reactions.name)
        let resumed = try await recoverPublishedState()
        logger.info(
            "main publisher started",
            metadata: [
                "source_partitions": "\(partitions)", "resumed_channels": "\(resumed.lastSeq.count)",
                "published_up_to": "\(resumed.publishedUpTo == .min ? "-" : ISO8601Millis.format(resumed.publishedUpTo))",
            ])
        let assembler = BurstAssembler(
            sourcePartitions: partitions, scaleDown: configuration.scaleDown, lastSeq: resumed.lastSeq,
            publishedUpTo: resumed.publishedUpTo)
        try await log.consume(
            PipelineTopics.windowReports,
            ConsumerOptions(topic: PipelineTopics.windowReports.name, group: configuration.group, start: .earliest, clientID: "publisher"),
            logger: logger, metrics: metrics, state: (assembler: assembler, progress: ReportProgress()),
            maxWait: { [maxPollWait = configuration.maxPollWait] in maxPollWait }
        ) { state, poll, reader in
            try await handle(poll, assembler: &state.assembler, progress: &state.progress, reader: reader)
        }
        logger.info("main publisher stopped")
    }

    /// What an earlier run of the publisher already appended to `publisher-emojis`: the last `seq` per channel and
    /// the end of the last published window, so that a restarted publisher neither re-publishes windows nor
    /// restarts numbering.
    func recoverPublishedState() async throws -> (lastSeq: [String: UInt64], publishedUpTo: EpochMillis) {
        let options = ConsumerOptions(
            topic: PipelineTopics.bursts.name, start: .tail(configuration.recoveryTail), clientID: "publisher-recovery")
        return try await log.withReader(PipelineTopics.bursts, options, logger: logger, metrics: metrics) { reader in
            var lastSeq: [String: UInt64] = [:]
            var publishedUpTo = EpochMillis.min
            while true {
                let poll = try await reader.poll(maxWait: .milliseconds(300))
                if poll.records.isEmpty { break }
                for burst in poll.values {
                    lastSeq[burst.channel] = max(lastSeq[burst.channel] ?? 0, burst.seq)
                    publishedUpTo = max(publishedUpTo, burst.windowEnd)
                }
            }
            return (lastSeq, publishedUpTo)
        }
    }

    /// Adds one poll's reports, publishes the windows they complete and commits the reports no longer needed.
    func handle(
        _ poll: TopicPoll<ProcessorReport>, assembler: inout BurstAssembler, progress: inout ReportProgress,
        reader: TopicReader<ProcessorReport>
    ) async throws {
        if poll.generation != progress.generation { progress = ReportProgress(generation: poll.generation) }
        guard !poll.records.isEmpty else { return }
        for record in poll.records {
            guard let report = record.value else {
                progress.read(partition: record.partition, offset: record.offset, lastWindowEnd: .min)
                continue
            }
            progress.read(
                partition: record.partition, offset: record.offset, lastWindowEnd: report.windows.map(\.end).max() ?? .min)
            let duplicates = assembler.add(report)
            if duplicates > 0 { duplicatesDropped.increment(by: duplicates) }
        }
        let bursts = assembler.drain()
        if !bursts.isEmpty {
            try await log.append(bursts.map(BurstRecord.init), to: PipelineTopics.bursts)
            burstsPublished.increment(by: bursts.count)
            stats?.burstsPublished(bursts.count)
        }
        // Reports of windows still pending are needed again after a restart: commit only up to the first one.
        let offsets = progress.committable(publishedUpTo: assembler.publishedUpTo)
        if !offsets.isEmpty {
            do {
                try await reader.commit(offsets)
            } catch {
                logger.info("could not commit offsets", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Which read reports the publisher still needs: per `emoji-counts` partition, the offsets of reports holding a
/// window that is not published yet.
struct ReportProgress: Sendable {
    var generation: Int64 = 0
    private var outstanding: [Int: Deque<(offset: Int64, lastWindowEnd: EpochMillis)>] = [:]
    private var nextOffset: [Int: Int64] = [:]
    private var committed: [Int: Int64] = [:]

    init(generation: Int64 = 0) {
        self.generation = generation
    }

    mutating func read(partition: Int, offset: Int64, lastWindowEnd: EpochMillis) {
        outstanding[partition, default: []].append((offset, lastWindowEnd))
        nextOffset[partition] = offset + 1
    }

    /// Offsets to commit now (only those that moved): up to the first report with an unpublished window.
    mutating func committable(publishedUpTo: EpochMillis) -> [Int: Int64] {
        var offsets: [Int: Int64] = [:]
        for (partition, next) in nextOffset {
            var queue = outstanding[partition] ?? []
            while let first = queue.first, first.lastWindowEnd <= publishedUpTo { queue.removeFirst() }
            outstanding[partition] = queue
            let offset = queue.first?.offset ?? next
            if committed[partition] != offset {
                committed[partition] = offset
                offsets[partition] = offset
            }
        }
        return offsets
    }
}
