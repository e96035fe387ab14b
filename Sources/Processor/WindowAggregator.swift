import EmoCore

/// Counts reactions into tumbling windows per source partition and closes windows as the watermark passes
/// their end. Pure state: the ``StreamProcessor`` feeds it records and watermarks.
public struct WindowAggregator: Sendable {
    public let window: WindowSpec
    /// window start → partition → channel → emoji → count.
    private var open: [EpochMillis: [Int: [String: [String: Int]]]] = [:]
    /// window start → partition → offset of the window's first record in that partition.
    private var firstOffsets: [EpochMillis: [Int: Int64]] = [:]
    /// partition → next offset to read.
    private var positions: [Int: Int64] = [:]
    public private(set) var assignment: [Int] = []
    /// The consumer generation the state belongs to.
    public private(set) var generation: Int64 = 0
    /// Reactions that arrived after their window had closed, counted into the oldest open window instead.
    public private(set) var lateReactions = 0
    /// The highest watermark reported so far.
    public private(set) var reportedWatermark: EpochMillis?

    public init(window: WindowSpec) {
        self.window = window
    }

    /// Adopts a new partition assignment; counts of partitions given away are dropped (their new owner re-reads
    /// them from the committed offsets). A new `generation` means the consumer re-reads every partition from the
    /// committed offsets, so every uncommitted count is dropped.
    public mutating func assign(_ partitions: [Int], generation: Int64 = 0) {
        if generation != self.generation {
            self.generation = generation
            open = [:]
            firstOffsets = [:]
            positions = [:]
            // Re-read records of windows already reported must go to those windows again (the publisher drops
            // the duplicate contributions), not count as late.
            reportedWatermark = nil
            assignment = partitions
            return
        }
        guard partitions != assignment else { return }
        let kept = Set(partitions)
        for start in open.keys {
            open[start] = open[start]?.filter { kept.contains($0.key) }
            firstOffsets[start] = firstOffsets[start]?.filter { kept.contains($0.key) }
        }
        positions = positions.filter { kept.contains($0.key) }
        assignment = partitions
    }

    public mutating func add(partition: Int, offset: Int64, timestamp: EpochMillis, channel: String, emoji: String) {
        var start = window.start(of: timestamp)
        if let reported = reportedWatermark, start + window.lengthMillis <= reported {
            // Its window was already reported (the log's lateness allowance was exceeded): count it in the oldest
            // window still open rather than lose it.
            lateReactions += 1
            start = window.start(of: reported)
        }
        open[start, default: [:]][partition, default: [:]][channel, default: [:]][emoji, default: 0] += 1
        if firstOffsets[start]?[partition] == nil {
            firstOffsets[start, default: [:]][partition] = offset
        }
        positions[partition] = offset + 1
    }

    /// Skips a record that could not be decoded (it still moves the position on).
    public mutating func skip(partition: Int, offset: Int64) {
        positions[partition] = offset + 1
    }

    /// Closes every window that ends at or before `watermark`. Returns a report when the watermark crossed at
    /// least one window boundary since the last report (even without reactions, so the publisher learns that
    /// these partitions are complete), or `nil`.
    public mutating func close(upTo watermark: EpochMillis, processor: String) -> ProcessorReport? {
        let closing = open.keys.filter { $0 + window.lengthMillis <= watermark }.sorted()
        let crossedBoundary = reportedWatermark.map { window.start(of: $0) < window.start(of: watermark) } ?? true
        guard crossedBoundary || !closing.isEmpty else { return nil }
        var windows: [WindowCounts] = []
        for start in closing {
            let partitions = open.removeValue(forKey: start) ?? [:]
            firstOffsets[start] = nil
            windows.append(
                WindowCounts(
                    start: start, end: start + window.lengthMillis,
                    partitions: partitions.keys.sorted().map { PartitionCounts(partition: $0, channels: partitions[$0]!) }))
        }
        reportedWatermark = watermark
        return ProcessorReport(processor: processor, watermark: watermark, partitions: assignment, windows: windows)
    }

    /// Offsets that are safe to commit once the reports so far are durable: per partition, the first record of
    /// a still-open window, or the read position when every read record is in a closed window.
    public func committableOffsets() -> [Int: Int64] {
        var offsets = positions
        for partitions in firstOffsets.values {
            for (partition, offset) in partitions {
                offsets[partition] = min(offsets[partition] ?? offset, offset)
            }
        }
        return offsets
    }

    public var openWindowCount: Int { open.count }
}
