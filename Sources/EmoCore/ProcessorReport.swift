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

    public init(processor: String, watermark: EpochMillis, partitions: [Int], windows: [WindowCounts]) {
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

public struct PartitionCounts: Codable, Sendable, Hashable {
    public var partition: Int
    /// channel → emoji → count.
    public var channels: [String: [String: Int]]

    public init(partition: Int, channels: [String: [String: Int]] = [:]) {
        self.partition = partition
        self.channels = channels
    }
}
