import EmoCore

/// Merges processor reports into one burst per channel and window, in window order, with a strictly
/// increasing `seq` per channel. Idempotent per (window, source partition): a window re-emitted after a
/// rebalance or a crash is counted once.
public struct BurstAssembler: Sendable {
    /// Number of partitions of the `emoji` topic; a window is complete when all of them have reported past it.
    public let sourcePartitions: Int
    public let scaleDown: ScaleDown
    /// partition → highest watermark reported for it.
    private var completeUpTo: [Int: EpochMillis] = [:]
    /// window start → (end, partition → channel → emoji → count).
    private var pending: [EpochMillis: PendingWindow] = [:]
    /// Windows ending at or before this were published (or were empty); later reports for them are duplicates.
    public private(set) var publishedUpTo: EpochMillis = .min
    private var lastSeq: [String: UInt64] = [:]

    struct PendingWindow {
        var end: EpochMillis
        var partitions: [Int: [String: [String: Int]]] = [:]
    }

    /// `lastSeq` and `publishedUpTo` resume a publisher that restarts: what the bursts topic already holds.
    public init(
        sourcePartitions: Int, scaleDown: ScaleDown, lastSeq: [String: UInt64] = [:], publishedUpTo: EpochMillis = .min
    ) {
        self.sourcePartitions = sourcePartitions
        self.scaleDown = scaleDown
        self.lastSeq = lastSeq
        self.publishedUpTo = publishedUpTo
    }

    /// Adds a report; returns how many (window, partition) contributions were duplicates and ignored.
    @discardableResult
    public mutating func add(_ report: ProcessorReport) -> Int {
        var duplicates = 0
        for window in report.windows {
            guard window.end > publishedUpTo else {
                duplicates += window.partitions.count
                continue
            }
            var entry = pending[window.start] ?? PendingWindow(end: window.end)
            for counts in window.partitions {
                if entry.partitions[counts.partition] == nil {
                    entry.partitions[counts.partition] = counts.channels
                } else {
                    duplicates += 1
                }
            }
            pending[window.start] = entry
        }
        for partition in report.partitions {
            completeUpTo[partition] = max(completeUpTo[partition] ?? .min, report.watermark)
        }
        return duplicates
    }

    /// The time up to which every source partition is complete.
    public var completeWatermark: EpochMillis? {
        guard completeUpTo.count >= sourcePartitions else { return nil }
        return (0..<sourcePartitions).compactMap { completeUpTo[$0] }.min()
    }

    /// Bursts of every complete window, oldest window first; channels in name order within a window.
    public mutating func drain() -> [Burst] {
        guard let complete = completeWatermark else { return [] }
        var bursts: [Burst] = []
        for start in pending.keys.sorted() {
            guard let window = pending[start], window.end <= complete else { break }
            pending[start] = nil
            var channels: [String: [String: Int]] = [:]
            for partitionChannels in window.partitions.values {
                for (channel, emojis) in partitionChannels {
                    channels[channel, default: [:]].merge(emojis, uniquingKeysWith: +)
                }
            }
            for channel in channels.keys.sorted() {
                let seq = (lastSeq[channel] ?? 0) + 1
                let burst = Burst(
                    channel: channel, seq: seq, windowStart: start, windowEnd: window.end, counts: channels[channel]!,
                    scaleDown: scaleDown)
                // Nothing to show (every type scaled to zero in floor mode): no burst, and no seq used.
                guard !burst.emojis.isEmpty else { continue }
                lastSeq[channel] = seq
                bursts.append(burst)
            }
            publishedUpTo = max(publishedUpTo, window.end)
        }
        // Every partition is complete up to `complete`: any later report of a window ending by then is a duplicate.
        publishedUpTo = max(publishedUpTo, complete)
        return bursts
    }

    public var pendingWindowCount: Int { pending.count }
}
