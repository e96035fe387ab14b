import DequeModule
import NIOCore

/// The consumer's shared state: membership, assignment, positions and the buffer of fetched records. Lives in the
/// consumer's `Mutex`.
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

    /// Bumped on every assignment change; fetch results from an older epoch are dropped.
    var epoch: UInt64 = 0
    var generation: Int32 = -1
    var memberID = ""
    /// The leader named by the last JoinGroup response.
    var lastLeader = ""
    /// Bumped to change this member's subscription metadata: Tansu only re-runs an assignment when a member's
    /// metadata changes (a plain rejoin of a formed group returns the old assignment).
    var subscriptionEpoch: Int32 = 0
    var coordinator: KafkaBrokerAddress?
    /// Group: joined, synced and positions initialised. Manual: positions initialised.
    var stable = false
    var rejoinNeeded = false
    var shutdown = false
    /// Cleared only by tests that simulate a crashed member.
    var leaveOnShutdown = true
    var assignment: [KafkaTopicPartition] = []
    var fetchPositions: [KafkaTopicPartition: Position] = [:]
    var pollPositions: [KafkaTopicPartition: Int64] = [:]
    var progress: [KafkaTopicPartition: Progress] = [:]
    var buffer = Deque<KafkaConsumerMessage>()
    /// Moving average of fetched bytes per record, to size Fetch requests to the buffer's room.
    var averageRecordBytes: Double = 0
    var bufferedPerPartition: [KafkaTopicPartition: Int] = [:]

    /// Drops the assignment and everything fetched for it (eager rebalance).
    mutating func revoke() {
        epoch &+= 1
        stable = false
        assignment = []
        fetchPositions = [:]
        pollPositions = [:]
        progress = [:]
        buffer.removeAll()
        bufferedPerPartition = [:]
    }

    mutating func install(assignment: [KafkaTopicPartition], positions: [KafkaTopicPartition: Position], generation: Int32)
    {
        revoke()
        self.assignment = assignment.sorted()
        self.generation = generation
        self.fetchPositions = positions
        for (tp, position) in positions {
            if case .known(let offset) = position { pollPositions[tp] = offset }
        }
        stable = true
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
            generation: generation)
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
