import EmoCore

/// Counts reactions into tumbling windows per source partition and closes windows as the watermark passes their
/// end. Pure state: the ``StreamProcessor`` feeds it records and watermarks.
///
/// Within a partition, windows never go backwards: a record is counted in the later of its own window and the window
/// of the records before it (with log-append timestamps that is its own window but for rare inversions). So each
/// window's records form one run of consecutive offsets, and every count leaves with the offsets it covers
/// (``PartitionCounts/from`` ..< ``PartitionCounts/to``). The same log read by any processor from any committed offset
/// therefore yields the same runs, which lets the publisher recognise re-read counts as duplicates and count records
/// that arrive after their window closed exactly once, as a correction of that window.
///
/// A record with an idempotency key that repeats an earlier one (see ``RequestKeyHistory``) counts nothing. To judge
/// the records after the committed offsets as their previous owner would have, a partition's history of keys must
/// survive a change of owner: the committed offset then goes back to the oldest record the history still needs, and
/// the offset counting resumes from travels with it (``Commit/countFrom``); the next owner reads the records between
/// the two for their keys only (``assign(_:generation:epoch:countFrom:)``).
public struct WindowAggregator: Sendable {
    public let window: WindowSpec
    private var partitions: [Int: PartitionState] = [:]
    public private(set) var assignment: [Int] = []
    /// The consumer generation the state belongs to.
    public private(set) var generation: Int64 = 0
    /// Reactions counted in a window the watermark had already passed: they leave as a correction of that window.
    public private(set) var lateReactions = 0
    /// The highest watermark reported so far.
    public private(set) var reportedWatermark: EpochMillis?
    /// The incarnation of the topic the counts belong to (see ``PollResult/epoch``).
    public private(set) var epoch: String?
    /// Requests (records) that repeated an earlier one's idempotency key, and the reactions they held: not counted.
    public private(set) var repeatedRequests = 0
    public private(set) var repeatedReactions = 0
    let keyCapacity: Int

    /// A run of one partition's offsets counted in one window.
    struct Piece: Sendable {
        var start: EpochMillis
        var from: Int64
        var to: Int64
        var channels: [String: [String: Int]] = [:]
    }

    struct PartitionState: Sendable {
        /// The window of the partition's latest record (windows never go backwards within a partition).
        var run: EpochMillis?
        /// The run's piece, still growing; nil once the run's window was reported (until more of it arrives).
        var current: Piece?
        /// Pieces whose run has ended, waiting for the watermark to pass their window.
        var finished: [Piece] = []
        /// Next offset to read.
        var position: Int64?
        /// Records below this offset were counted by the partition's previous owner: only their keys are learnt.
        var countFrom: Int64?
        var keys: RequestKeyHistory
    }

    public init(window: WindowSpec, keyCapacity: Int = RequestKeyHistory.defaultCapacity) {
        self.window = window
        self.keyCapacity = keyCapacity
    }

    /// Idempotency keys dropped from the bounded histories (see ``RequestKeyHistory/evicted``).
    public var evictedKeys: Int {
        partitions.values.reduce(0) { $0 + $1.keys.evicted }
    }

    /// Adopts a new partition assignment; counts of partitions given away are dropped (their new owner re-reads
    /// them from the committed offsets). A new `generation` means the consumer re-reads every partition from the
    /// committed offsets, so every uncommitted count is dropped.
    ///
    /// - Parameter countFrom: per partition, the offset counting resumes from when the committed offset it is read
    ///   from lies before it (the ``Commit/countFrom`` committed with it); taken only with a new generation.
    public mutating func assign(
        _ partitions: [Int], generation: Int64 = 0, epoch: String? = nil, countFrom: [Int: Int64] = [:]
    ) {
        // A new epoch: the topic was created again (its offsets start over), so nothing counted so far is of it.
        let newEpoch = epoch != nil && self.epoch != nil && epoch != self.epoch
        if epoch != nil { self.epoch = epoch }
        if generation != self.generation || newEpoch {
            self.generation = generation
            self.partitions = [:]
            if !newEpoch {
                for (partition, offset) in countFrom where partitions.contains(partition) {
                    var state = PartitionState(keys: RequestKeyHistory(capacity: keyCapacity))
                    state.countFrom = offset
                    self.partitions[partition] = state
                }
            }
            // Re-read records of windows already reported go to those windows again (the publisher's ledger knows
            // which offsets it has counted), not count as late.
            reportedWatermark = nil
            assignment = partitions
            return
        }
        guard partitions != assignment else { return }
        let kept = Set(partitions)
        self.partitions = self.partitions.filter { kept.contains($0.key) }
        assignment = partitions
    }

    /// Counts one record holding `reactions` (an ingest request) read at `offset` of `partition`, unless its
    /// idempotency `key` repeats an earlier record's.
    public mutating func add(
        partition: Int, offset: Int64, timestamp: EpochMillis, key: [UInt8]? = nil,
        reactions: some Collection<(channel: String, emoji: String)>
    ) {
        var state = partitions.removeValue(forKey: partition) ?? PartitionState(keys: RequestKeyHistory(capacity: keyCapacity))
        let repeated = key.map { state.keys.record($0, offset: offset, timestamp: timestamp) } ?? false
        if let countFrom = state.countFrom {
            if offset < countFrom {
                // Counted by the previous owner: learn the key (above) and the run the record belongs to, count nothing.
                let own = window.start(of: timestamp)
                state.run = max(state.run ?? own, own)
                state.position = offset + 1
                partitions[partition] = state
                return
            }
            state.countFrom = nil
        }
        if repeated {
            repeatedRequests += 1
            repeatedReactions += reactions.count
            count(&state, partition: partition, offset: offset, timestamp: timestamp, reactions: EmptyCollection())
        } else {
            count(&state, partition: partition, offset: offset, timestamp: timestamp, reactions: reactions)
        }
        partitions[partition] = state
    }

    private mutating func count(
        _ state: inout PartitionState, partition: Int, offset: Int64, timestamp: EpochMillis,
        reactions: some Collection<(channel: String, emoji: String)>
    ) {
        let own = window.start(of: timestamp)
        var piece: Piece
        if let run = state.run, own <= run {
            // The run goes on (a record stamped a little earlier than its predecessor still belongs to their window).
            piece = state.current ?? Piece(start: run, from: offset, to: offset)
        } else {
            if let ended = state.current {
                state.finished.append(ended)
            }
            state.run = own
            piece = Piece(start: own, from: offset, to: offset)
        }
        if let reported = reportedWatermark, piece.start + window.lengthMillis <= reported {
            lateReactions += reactions.count
        }
        for reaction in reactions {
            piece.channels[reaction.channel, default: [:]][reaction.emoji, default: 0] += 1
        }
        piece.to = offset + 1
        state.current = piece
        state.position = offset + 1
    }

    /// Counts one reaction read at `offset` of `partition`.
    public mutating func add(partition: Int, offset: Int64, timestamp: EpochMillis, channel: String, emoji: String) {
        add(partition: partition, offset: offset, timestamp: timestamp, reactions: CollectionOfOne((channel: channel, emoji: emoji)))
    }

    /// Skips a record that could not be decoded: it counts nothing, but its offset belongs to the run it is in.
    public mutating func skip(partition: Int, offset: Int64, timestamp: EpochMillis) {
        add(partition: partition, offset: offset, timestamp: timestamp, reactions: EmptyCollection<(channel: String, emoji: String)>())
    }

    /// Closes every window that ends at or before `watermark`. Returns a report when the watermark crossed at
    /// least one window boundary since the last report (even without reactions, so the publisher learns that
    /// these partitions are complete), or when counts are due; otherwise `nil`.
    public mutating func close(upTo watermark: EpochMillis, processor: String, epoch: String? = nil) -> ProcessorReport? {
        let length = window.lengthMillis
        var closing: [EpochMillis: [PartitionCounts]] = [:]
        for partition in partitions.keys.sorted() {
            var state = partitions[partition]!
            var due: [Piece] = []
            while let first = state.finished.first, first.start + length <= watermark {
                due.append(state.finished.removeFirst())
            }
            if state.finished.isEmpty, let current = state.current, current.start + length <= watermark {
                due.append(current)
                state.current = nil
            }
            guard !due.isEmpty else { continue }
            for piece in due {
                closing[piece.start, default: []].append(
                    PartitionCounts(partition: partition, channels: piece.channels, from: piece.from, to: piece.to))
            }
            partitions[partition] = state
        }
        let crossedBoundary = reportedWatermark.map { window.start(of: $0) < window.start(of: watermark) } ?? true
        guard crossedBoundary || !closing.isEmpty else { return nil }
        let windows = closing.keys.sorted().map { start in
            WindowCounts(start: start, end: start + length, partitions: closing[start]!)
        }
        reportedWatermark = max(reportedWatermark ?? watermark, watermark)
        return ProcessorReport(
            processor: processor, watermark: watermark, partitions: assignment, windows: windows, epoch: epoch)
    }

    /// What to commit for one partition once the reports so far are durable.
    public struct Commit: Sendable, Equatable {
        /// Where the partition's next owner starts reading.
        public var offset: Int64
        /// Where it starts counting, when that is later than ``offset``: the records between are read for their
        /// idempotency keys only (they were counted already).
        public var countFrom: Int64?

        public init(offset: Int64, countFrom: Int64? = nil) {
            self.offset = offset
            self.countFrom = countFrom
        }
    }

    /// Offsets that are safe to commit once the reports so far are durable: per partition, the first offset of a
    /// piece not reported yet, or the read position when every read record has been reported.
    public func committableOffsets() -> [Int: Int64] {
        commits().mapValues { $0.countFrom ?? $0.offset }
    }

    /// What to commit per partition: the counting position of ``committableOffsets()``, and, while the partition's
    /// history of idempotency keys needs older records, a read position that goes back to them.
    public func commits() -> [Int: Commit] {
        var commits: [Int: Commit] = [:]
        for (partition, state) in partitions {
            // Where counting resumes, and the first record not read since this owner started.
            let counted: Int64
            var unread: Int64
            if let first = state.finished.first {
                counted = first.from
                unread = counted
            } else if let current = state.current {
                counted = current.from
                unread = counted
            } else if let position = state.position {
                // Still learning keys below where counting resumes: counting resumes there, reading from here.
                counted = max(position, state.countFrom ?? position)
                unread = position
            } else {
                // Nothing read yet (of a partition taken over): the committed offsets stay as they are.
                continue
            }
            unread = min(unread, counted)
            let read = min(state.keys.oldestNeeded ?? unread, unread)
            commits[partition] = Commit(offset: read, countFrom: read < counted ? counted : nil)
        }
        return commits
    }

    /// Windows with counts not reported yet.
    public var openWindowCount: Int {
        var starts = Set<EpochMillis>()
        for state in partitions.values {
            for piece in state.finished { starts.insert(piece.start) }
            if let current = state.current { starts.insert(current.start) }
        }
        return starts.count
    }
}
