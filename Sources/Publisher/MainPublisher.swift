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
        /// The publisher's static membership of its group (see ``ConsumerOptions/instanceID``): a publisher restarted
        /// under the same id resumes without waiting for its dead predecessor's session. `nil`: a dynamic member.
        public var instanceID: String?
        public var maxPollWait: Duration
        /// Bursts read back from the end of `publisher-emojis` at start to resume `seq` numbering.
        public var recoveryTail: Int

        public init(
            scaleDown: ScaleDown = ScaleDown(), group: String = "emostream-publisher", instanceID: String? = nil,
            maxPollWait: Duration = .milliseconds(500), recoveryTail: Int = 10_000
        ) {
            self.scaleDown = scaleDown
            self.group = group
            self.instanceID = instanceID
            self.maxPollWait = maxPollWait
            self.recoveryTail = recoveryTail
        }
    }

    let log: any EventLog
    let configuration: Configuration
    let logger: Logger
    let burstsPublished: Counter
    let duplicatesDropped: Counter
    let lateCorrections: Counter
    let correctedReactions: Counter
    let ledgerGaps: Counter
    let ledgerConflicts: Counter
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
        self.lateCorrections = Counter(label: "emostream_publisher_late_corrections_total", factory: metrics)
        self.correctedReactions = Counter(label: "emostream_publisher_corrected_reactions_total", factory: metrics)
        self.ledgerGaps = Counter(label: "emostream_publisher_ledger_gaps_total", factory: metrics)
        self.ledgerConflicts = Counter(label: "emostream_publisher_ledger_conflicts_total", factory: metrics)
    }

    public func run() async throws {
        let partitions = try await log.partitionCount(of: PipelineTopics.reactions.name)
        let resumed = try await recoverPublishedState()
        logger.info(
            "main publisher started",
            metadata: [
                "source_partitions": "\(partitions)", "resumed_channels": "\(resumed.lastSeq.count)",
                "published_up_to": "\(resumed.publishedUpTo == .min ? "-" : ISO8601Millis.format(resumed.publishedUpTo))",
                "ledger": "\(resumed.ledger.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ","))",
            ])
        let assembler = BurstAssembler(
            sourcePartitions: partitions, scaleDown: configuration.scaleDown, lastSeq: resumed.lastSeq,
            publishedUpTo: resumed.publishedUpTo, ledger: resumed.ledger, epoch: resumed.epoch)
        try await log.consume(
            PipelineTopics.windowReports,
            ConsumerOptions(topic: PipelineTopics.windowReports.name, group: configuration.group, start: .earliest, clientID: "publisher",
                instanceID: configuration.instanceID),
            logger: logger, metrics: metrics, state: (assembler: assembler, progress: ReportProgress()),
            maxWait: { [maxPollWait = configuration.maxPollWait] in maxPollWait }
        ) { state, poll, reader in
            try await handle(poll, assembler: &state.assembler, progress: &state.progress, reader: reader)
        }
        logger.info("main publisher stopped")
    }

    /// What an earlier run of the publisher already appended to `publisher-emojis`: the last `seq` per channel and
    /// the end of the last published window, so that a restarted publisher neither re-publishes windows nor
    /// restarts numbering, and the ledger of the newest burst, so that it counts no source offset twice.
    func recoverPublishedState() async throws -> (
        lastSeq: [String: UInt64], publishedUpTo: EpochMillis, ledger: [Int: Int64], epoch: String?
    ) {
        let options = ConsumerOptions(
            topic: PipelineTopics.bursts.name, start: .tail(configuration.recoveryTail), clientID: "publisher-recovery")
        return try await log.withReader(PipelineTopics.bursts, options, logger: logger, metrics: metrics) { reader in
            var lastSeq: [String: UInt64] = [:]
            var publishedUpTo = EpochMillis.min
            var ledger: [Int: Int64] = [:]
            var epoch: String?
            while true {
                let poll = try await reader.poll(maxWait: .milliseconds(300))
                if poll.records.isEmpty { break }
                for burst in poll.values {
                    lastSeq[burst.channel] = max(lastSeq[burst.channel] ?? 0, burst.seq)
                    publishedUpTo = max(publishedUpTo, burst.windowEnd)
                    if burst.epoch != epoch {
                        ledger = [:]
                        epoch = burst.epoch
                    }
                    ledger.merge(burst.ledger, uniquingKeysWith: max)
                }
            }
            return (lastSeq, publishedUpTo, ledger, epoch)
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
            let before = assembler.audit
            assembler.add(report)
            self.record(before: before, after: assembler.audit, report: report)
        }
        let before = assembler.audit
        let bursts = assembler.drain()
        if !bursts.isEmpty {
            let ledger = assembler.publishedLedger
            let epoch = assembler.epoch
            try await log.append(bursts.map { BurstRecord($0, ledger: ledger, epoch: epoch) }, to: PipelineTopics.bursts)
            burstsPublished.increment(by: bursts.count)
            stats?.burstsPublished(bursts.count)
            let corrected = assembler.audit.correctedReactions - before.correctedReactions
            if corrected > 0 {
                correctedReactions.increment(by: corrected)
                logger.warning(
                    "published corrections of earlier windows",
                    metadata: [
                        "reactions": "\(corrected)",
                        "windows": "\(Set(bursts.filter(\.correction).map { ISO8601Millis.format($0.windowStart) }).sorted())",
                    ])
            }
        }
        for (partition, next) in assembler.countedLedger {
            Gauge(label: "emostream_publisher_ledger_offset", dimensions: [("partition", "\(partition)")], factory: metrics)
                .record(next)
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

extension MainPublisher {
    /// Counts (and, for what deserves an alarm, logs) what adding one report did to the ledger.
    func record(before: BurstAssembler.Audit, after: BurstAssembler.Audit, report: ProcessorReport) {
        if after.duplicates > before.duplicates { duplicatesDropped.increment(by: after.duplicates - before.duplicates) }
        if after.lateCorrections > before.lateCorrections {
            lateCorrections.increment(by: after.lateCorrections - before.lateCorrections)
            logger.warning(
                "late counts for an already published window: publishing a correction",
                metadata: ["processor": "\(report.processor)"])
        }
        if after.sourceLogResets > before.sourceLogResets {
            logger.warning(
                "the emoji topic was created again (a broker that lost its data): the ledger starts over",
                metadata: ["epoch": "\(report.epoch ?? "-")"])
        }
        if after.staleEpochContributions > before.staleEpochContributions {
            logger.warning(
                "a report counts an earlier incarnation of the emoji topic (a processor that has not seen it created again); ignored",
                metadata: ["processor": "\(report.processor)", "epoch": "\(report.epoch ?? "-")"])
        }
        if after.gaps > before.gaps {
            ledgerGaps.increment(by: after.gaps - before.gaps)
            logger.error(
                "a report skips source offsets the ledger has not counted: a report is missing",
                metadata: ["processor": "\(report.processor)"])
        }
        if after.conflicts > before.conflicts {
            ledgerConflicts.increment(by: after.conflicts - before.conflicts)
            logger.error(
                "a report overlaps counted source offsets in a way that cannot be reconciled; its new part is left out",
                metadata: ["processor": "\(report.processor)"])
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
