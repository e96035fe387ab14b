import EmoCore

/// Merges processor reports into one burst per channel and window, in window order, with a strictly
/// increasing `seq` per channel.
///
/// Exactly once, through its ledger: per source partition it knows up to which offset it has counted (every count
/// names the offsets it covers, see ``PartitionCounts``). A contribution whose offsets were all counted is a duplicate
/// (a window re-read after a rebalance or a crash); one that starts where the ledger ends is new; one that covers
/// counted offsets and more adds only the difference. New counts for a window already published are not dropped:
/// they leave as a correction burst of that window. Reports of releases without offsets fall back to counting each
/// (window, partition) once.
public struct BurstAssembler: Sendable {
    /// Number of partitions of the `emoji` topic; a window is complete when all of them have reported past it.
    public let sourcePartitions: Int
    public let scaleDown: ScaleDown
    /// partition → highest watermark reported for it.
    private var completeUpTo: [Int: EpochMillis] = [:]
    /// window start → (end, partition → channel → emoji → count).
    private var pending: [EpochMillis: PendingWindow] = [:]
    /// Windows ending at or before this were published (or were empty); later counts for them are corrections.
    public private(set) var publishedUpTo: EpochMillis = .min
    private var lastSeq: [String: UInt64] = [:]
    /// source partition → what has been counted of it.
    private var ledger: [Int: PartitionLedger] = [:]
    /// window start → (end, channel → emoji → count) of counts that arrived after the window was published.
    private var corrections: [EpochMillis: (end: EpochMillis, channels: [String: [String: Int]])] = [:]
    public private(set) var audit = Audit()
    /// The incarnation of the `emoji` topic the ledger's offsets belong to; reports of a new one restart the ledger,
    /// reports of an earlier one are ignored.
    public private(set) var epoch: String?
    private var retiredEpochs: Set<String> = []

    /// What the assembler has seen that deserves an alarm, cumulative.
    public struct Audit: Sendable, Equatable {
        /// Contributions (window, partition) whose offsets had all been counted already.
        public var duplicates = 0
        /// Contributions that brought new counts for an already published window.
        public var lateCorrections = 0
        /// Reactions published as corrections.
        public var correctedReactions = 0
        /// Contributions that skipped offsets the ledger had not seen (a report is missing).
        public var gaps = 0
        /// Contributions that overlapped counted offsets in a way whose difference cannot be told; their new part is
        /// left out (and alarmed) rather than counted twice.
        public var conflicts = 0
        /// Reactions in the published bursts (corrections included).
        public var publishedReactions = 0
        /// Times the `emoji` topic was found created again (a broker that lost its data): the ledger restarted.
        public var sourceLogResets = 0
        /// Contributions of an earlier incarnation of the `emoji` topic, ignored.
        public var staleEpochContributions = 0
    }

    struct PendingWindow {
        var end: EpochMillis
        /// Counts of reports without offsets: the first per partition wins.
        var legacy: [Int: [String: [String: Int]]] = [:]
        /// Counts accepted through the ledger, merged.
        var counted: [String: [String: Int]] = [:]
    }

    /// A run of counted offsets of one partition and the counts it brought.
    struct Counted: Sendable {
        var window: EpochMillis
        var offsets: Range<Int64>
        var channels: [String: [String: Int]]
    }

    struct PartitionLedger: Sendable {
        /// Every offset below this has been counted (nil: nothing known yet).
        var next: Int64?
        /// The latest counted runs (a bounded tail), to tell the difference when a report covers them and more.
        var recent: [Counted] = []
        /// The ledger as of the published windows: what a restarted publisher resumes from.
        var publishedNext: Int64?
    }

    static let recentLimit = 32

    /// `lastSeq`, `publishedUpTo` and `ledger` resume a publisher that restarts: what the bursts topic already holds.
    public init(
        sourcePartitions: Int, scaleDown: ScaleDown, lastSeq: [String: UInt64] = [:], publishedUpTo: EpochMillis = .min,
        ledger: [Int: Int64] = [:], epoch: String? = nil
    ) {
        self.epoch = epoch
        self.sourcePartitions = sourcePartitions
        self.scaleDown = scaleDown
        self.lastSeq = lastSeq
        self.publishedUpTo = publishedUpTo
        for (partition, next) in ledger {
            self.ledger[partition] = PartitionLedger(next: next, publishedNext: next)
        }
    }

    /// Adds a report; returns how many (window, partition) contributions were duplicates and ignored.
    @discardableResult
    public mutating func add(_ report: ProcessorReport) -> Int {
        let before = audit.duplicates
        if let reportEpoch = report.epoch, reportEpoch != epoch {
            if retiredEpochs.contains(reportEpoch) {
                audit.staleEpochContributions += report.windows.map(\.partitions.count).reduce(0, +)
                return 0
            }
            if let old = epoch {
                // The topic was created again: its offsets start over, so the ledger of the old one means nothing.
                retiredEpochs.insert(old)
                ledger = [:]
                audit.sourceLogResets += 1
            }
            epoch = reportEpoch
        }
        for window in report.windows {
            for counts in window.partitions {
                if let offsets = counts.offsets {
                    count(counts.channels, offsets: offsets, partition: counts.partition, window: window)
                } else {
                    addLegacy(counts, window: window)
                }
            }
        }
        for partition in report.partitions {
            completeUpTo[partition] = max(completeUpTo[partition] ?? .min, report.watermark)
        }
        return audit.duplicates - before
    }

    private mutating func addLegacy(_ counts: PartitionCounts, window: WindowCounts) {
        guard window.end > publishedUpTo else {
            audit.duplicates += 1
            return
        }
        var entry = pending[window.start] ?? PendingWindow(end: window.end)
        if entry.legacy[counts.partition] == nil {
            entry.legacy[counts.partition] = counts.channels
        } else {
            audit.duplicates += 1
        }
        pending[window.start] = entry
    }

    /// Runs one contribution through the partition's ledger.
    private mutating func count(
        _ channels: [String: [String: Int]], offsets: Range<Int64>, partition: Int, window: WindowCounts
    ) {
        var entry = ledger[partition] ?? PartitionLedger()
        defer { ledger[partition] = entry }
        let next = entry.next ?? offsets.lowerBound
        if offsets.upperBound <= next && entry.next != nil {
            audit.duplicates += 1
            return
        }
        var delta = channels
        if offsets.lowerBound < next {
            // Part of it was counted: the counted runs it covers must be of this window and start where it starts.
            let covered = entry.recent.filter { $0.offsets.lowerBound >= offsets.lowerBound }
            guard let first = covered.first, first.offsets.lowerBound == offsets.lowerBound,
                covered.allSatisfy({ $0.window == window.start }),
                let difference = Self.subtract(covered.map(\.channels), from: channels)
            else {
                audit.conflicts += 1
                return
            }
            delta = difference
            entry.recent.removeAll { $0.offsets.lowerBound >= offsets.lowerBound }
        } else if offsets.lowerBound > next {
            audit.gaps += 1
        }
        entry.next = offsets.upperBound
        entry.recent.append(Counted(window: window.start, offsets: offsets, channels: channels))
        if entry.recent.count > Self.recentLimit { entry.recent.removeFirst(entry.recent.count - Self.recentLimit) }
        if window.end > publishedUpTo {
            var pendingWindow = pending[window.start] ?? PendingWindow(end: window.end)
            Self.merge(delta, into: &pendingWindow.counted)
            pending[window.start] = pendingWindow
        } else if delta.values.contains(where: { $0.values.contains { $0 > 0 } }) {
            var correction = corrections[window.start] ?? (window.end, [:])
            Self.merge(delta, into: &correction.channels)
            corrections[window.start] = correction
            audit.lateCorrections += 1
        }
    }

    static func merge(_ counts: [String: [String: Int]], into total: inout [String: [String: Int]]) {
        for (channel, emojis) in counts {
            total[channel, default: [:]].merge(emojis, uniquingKeysWith: +)
        }
    }

    /// `total − parts`, or nil when some part holds more than `total` (they cannot be views of the same records).
    static func subtract(_ parts: [[String: [String: Int]]], from total: [String: [String: Int]]) -> [String: [String: Int]]? {
        var remaining = total
        for part in parts {
            for (channel, emojis) in part {
                for (emoji, count) in emojis {
                    let left = (remaining[channel]?[emoji] ?? 0) - count
                    guard left >= 0 else { return nil }
                    remaining[channel, default: [:]][emoji] = left
                }
            }
        }
        return remaining.mapValues { $0.filter { $0.value > 0 } }.filter { !$0.value.isEmpty }
    }

    /// The time up to which every source partition is complete.
    public var completeWatermark: EpochMillis? {
        guard completeUpTo.count >= sourcePartitions else { return nil }
        return (0..<sourcePartitions).compactMap { completeUpTo[$0] }.min()
    }

    /// Bursts of every complete window, oldest window first, channels in name order within a window; then the
    /// corrections of windows published earlier.
    public mutating func drain() -> [Burst] {
        var bursts: [Burst] = []
        if let complete = completeWatermark {
            for start in pending.keys.sorted() {
                guard let window = pending[start], window.end <= complete else { break }
                pending[start] = nil
                var channels = window.counted
                for partitionChannels in window.legacy.values { Self.merge(partitionChannels, into: &channels) }
                append(channels, start: start, end: window.end, correction: false, to: &bursts)
                publishedUpTo = max(publishedUpTo, window.end)
            }
            // Every partition is complete up to `complete`: later counts of a window ending by then are corrections.
            publishedUpTo = max(publishedUpTo, complete)
        }
        for start in corrections.keys.sorted() {
            let correction = corrections.removeValue(forKey: start)!
            append(correction.channels, start: start, end: correction.end, correction: true, to: &bursts)
        }
        // What a restarted publisher must not count again: the ledger of every partition, less what pending windows
        // hold (their reports are read again after a restart). Within a partition windows never go backwards, so
        // that is the end of the last counted run of a published window.
        for partition in ledger.keys {
            var entry = ledger[partition]!
            if let published = entry.recent.last(where: { pending[$0.window] == nil }) {
                entry.publishedNext = max(entry.publishedNext ?? published.offsets.upperBound, published.offsets.upperBound)
            }
            ledger[partition] = entry
        }
        return bursts
    }

    private mutating func append(
        _ channels: [String: [String: Int]], start: EpochMillis, end: EpochMillis, correction: Bool, to bursts: inout [Burst]
    ) {
        for channel in channels.keys.sorted() {
            let seq = (lastSeq[channel] ?? 0) + 1
            let burst = Burst(
                channel: channel, seq: seq, windowStart: start, windowEnd: end, counts: channels[channel]!,
                scaleDown: scaleDown, correction: correction)
            // Nothing to show (every type scaled to zero in floor mode): no burst, and no seq used.
            guard !burst.emojis.isEmpty else { continue }
            lastSeq[channel] = seq
            audit.publishedReactions += burst.total
            if correction { audit.correctedReactions += burst.total }
            bursts.append(burst)
        }
    }

    /// Per source partition, every offset below which is counted in the published bursts (stored with them, so a
    /// restarted publisher resumes its ledger).
    public var publishedLedger: [Int: Int64] {
        ledger.compactMapValues(\.publishedNext)
    }

    /// Per source partition, every offset below which has been counted (published or pending).
    public var countedLedger: [Int: Int64] {
        ledger.compactMapValues(\.next)
    }

    public var pendingWindowCount: Int { pending.count }
}
