import DequeModule
import NIOCore

/// The consumer's shared state: the group membership state machine, and the assignment's positions and buffer of
/// fetched records. Lives in the consumer's `Mutex`.
struct ConsumerState {
    enum Position: Sendable, Equatable {
        /// Fetch from this offset.
        case known(Int64)
        /// Fetch once at `probe` only to learn the high watermark / log start, then start at latest or tail(n).
        case resolveLatest(probe: Int64)
        case resolveTail(Int, probe: Int64)
        /// Look the offset up again with ListOffsets (after OFFSET_OUT_OF_RANGE).
        case needsReset
    }

    struct Progress {
        var highWatermark: Int64
        var fetchedAtMillis: Int64
    }

    /// Group membership: changed only through its events, through `withMembership(_:)` (or `positionsResolved`),
    /// so the fetch state below follows the assignment in the same critical section.
    private(set) var membership: GroupMembership
    /// Bumped on every assignment change; fetch results from an older epoch are dropped.
    var epoch: UInt64 = 0
    /// Positions installed: the fetcher may fetch for `assignment`. For a group consumer, `assignment` and
    /// `installed` mirror `membership`.
    private(set) var installed = false
    private(set) var assignment: [KafkaTopicPartition] = []
    var fetchPositions: [KafkaTopicPartition: Position] = [:]
    var pollPositions: [KafkaTopicPartition: Int64] = [:]
    /// What was committed with the assignment's offsets (OffsetCommit metadata), as fetched when it was installed.
    private(set) var committedMetadata: [KafkaTopicPartition: String] = [:]
    var progress: [KafkaTopicPartition: Progress] = [:]
    var buffer = Deque<KafkaConsumerMessage>()
    /// Moving average of fetched bytes per record, to size Fetch requests to the buffer's room.
    var averageRecordBytes: Double = 0
    var bufferedPerPartition: [KafkaTopicPartition: Int] = [:]
    /// `membership.assignmentEpoch` that the fetch state last followed.
    private var followedAssignment: UInt64 = 0

    init(membership: GroupMembership) {
        self.membership = membership
    }

    var isShutdown: Bool { membership.isShutdown }

    /// Applies a membership event; returns its result and whether the assignment changed (revoked or installed).
    mutating func withMembership<Result>(
        _ event: (inout GroupMembership) -> Result
    ) -> (Result, assignmentChanged: Bool) {
        let result = event(&membership)
        return (result, followMembership(positions: [:]))
    }

    /// The group loop's `positionsResolved` event, installing `positions` if the membership installs the assignment.
    mutating func positionsResolved(
        _ positions: [KafkaTopicPartition: Position], metadata: [KafkaTopicPartition: String] = [:],
        now: ContinuousClock.Instant
    ) -> (GroupMembership.Action, assignmentChanged: Bool) {
        let action = membership.positionsResolved(now: now)
        return (action, followMembership(positions: positions, metadata: metadata))
    }

    private mutating func followMembership(
        positions: [KafkaTopicPartition: Position], metadata: [KafkaTopicPartition: String] = [:]
    ) -> Bool {
        guard followedAssignment != membership.assignmentEpoch else { return false }
        followedAssignment = membership.assignmentEpoch
        if membership.isStable {
            install(assignment: membership.assignment, positions: positions, metadata: metadata)
        } else {
            revoke()
        }
        return true
    }

    /// Drops the assignment and everything fetched for it (eager rebalance).
    private mutating func revoke() {
        epoch &+= 1
        installed = false
        assignment = []
        fetchPositions = [:]
        pollPositions = [:]
        committedMetadata = [:]
        progress = [:]
        buffer.removeAll()
        bufferedPerPartition = [:]
    }

    /// Installs a manual assignment, or the group's (through `positionsResolved`).
    mutating func install(
        assignment: [KafkaTopicPartition], positions: [KafkaTopicPartition: Position],
        metadata: [KafkaTopicPartition: String] = [:]
    ) {
        revoke()
        self.assignment = assignment.sorted()
        self.fetchPositions = positions
        self.committedMetadata = metadata
        for (tp, position) in positions {
            if case .known(let offset) = position { pollPositions[tp] = offset }
        }
        installed = true
    }

    /// Takes up to `max` buffered messages and describes the consumer's state.
    mutating func poll(max: Int) -> KafkaPollBatch {
        var messages: [KafkaConsumerMessage] = []
        let n = Swift.min(max, buffer.count)
        if n > 0 {
            messages.reserveCapacity(n)
            for _ in 0..<n {
                let m = buffer.removeFirst()
                let tp = m.topicPartition
                pollPositions[tp] = m.offset + 1
                let left = (bufferedPerPartition[tp] ?? 1) - 1
                if left <= 0 {
                    bufferedPerPartition[tp] = nil
                    // Nothing buffered: the poll position catches up with the fetch position (control batches,
                    // compacted gaps).
                    if case .known(let next) = fetchPositions[tp], next > m.offset + 1 { pollPositions[tp] = next }
                } else {
                    bufferedPerPartition[tp] = left
                }
                messages.append(m)
            }
        }
        return KafkaPollBatch(
            messages: messages, assignment: assignment, progress: progressSnapshot(),
            generation: membership.generation, committedMetadata: committedMetadata)
    }

    func progressSnapshot() -> [KafkaTopicPartition: KafkaPartitionProgress] {
        var result: [KafkaTopicPartition: KafkaPartitionProgress] = [:]
        for tp in assignment {
            guard let p = progress[tp], let position = pollPositions[tp] else { continue }
            result[tp] = KafkaPartitionProgress(
                position: position, highWatermark: p.highWatermark, fetchedAtMillis: p.fetchedAtMillis)
        }
        return result
    }
}
