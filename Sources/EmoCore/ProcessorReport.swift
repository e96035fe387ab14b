/// What a stream processor writes to `emoji-counts`: the raw counts of the windows it has closed, per source
/// partition, and how far its partitions are complete.
///
/// Counts stay per source partition so that results are mergeable and idempotent: when processors share the
/// `emoji` partitions (or one takes over another's after a crash and re-emits a window), the publisher adds each
/// (window, partition) exactly once. Counts are raw; the publisher applies the scale-down rule after merging,
/// because `ceil(a / s) + ceil(b / s)` is not `ceil((a + b) / s)`.
public struct ProcessorReport: Codable, Sendable, Hashable {
    public var processor: String
    /// Every reaction in `partitions` with an ingest time below this has been counted in this or an earlier report.
    public var watermark: EpochMillis
    /// The `emoji` partitions the processor owns (the ones `watermark` speaks for).
    public var partitions: [Int]
    /// Windows closed since the previous report that hold at least one reaction.
    public var windows: [WindowCounts]
    /// The incarnation of the `emoji` topic the offsets belong to (Kafka's topic id); nil when the log cannot tell.
    public var epoch: String?

    public init(
        processor: String, watermark: EpochMillis, partitions: [Int], windows: [WindowCounts], epoch: String? = nil
    ) {
        self.epoch = epoch
        self.processor = processor
        self.watermark = watermark
        self.partitions = partitions
        self.windows = windows
    }
}

/// One closed window's counts, per source partition.
public struct WindowCounts: Codable, Sendable, Hashable {
    public var start: EpochMillis
    public var end: EpochMillis
    public var partitions: [PartitionCounts]

    public init(start: EpochMillis, end: EpochMillis, partitions: [PartitionCounts]) {
        self.start = start
        self.end = end
        self.partitions = partitions
    }
}

/// One source partition's share of a window: the counts of the records at offsets `from ..< to` of that partition.
///
/// The offsets make a report a deterministic function of the log: the publisher keeps, per source partition, which
/// offsets it has already counted (its ledger), so a contribution re-read by another processor after a rebalance is
/// recognised as a duplicate, one that covers more of the log adds the difference, and one that arrives after its
/// window was published becomes a correction. Reports of releases before offsets carry none (`nil`).
public struct PartitionCounts: Codable, Sendable, Hashable {
    public var partition: Int
    /// channel → emoji → count.
    public var channels: [String: [String: Int]]
    /// First offset of the partition these counts cover.
    public var from: Int64?
    /// One past the last offset these counts cover.
    public var to: Int64?

    public init(partition: Int, channels: [String: [String: Int]] = [:], from: Int64? = nil, to: Int64? = nil) {
        self.partition = partition
        self.channels = channels
        self.from = from
        self.to = to
    }

    /// The offsets covered, when the report names them.
    public var offsets: Range<Int64>? {
        guard let from, let to, from <= to else { return nil }
        return from..<to
    }
}
