/// A group consumer's membership as a state machine (classic protocol, eager rebalancing): FindCoordinator →
/// JoinGroup (MEMBER_ID_REQUIRED round) → SyncGroup (the leader assigns) → positions → stable until a heartbeat,
/// a commit, a metadata change or the session asks for a rebalance → revoke → rejoin; LeaveGroup on shutdown.
///
/// Events are methods that take the current time and return what to do next; no method does IO. The consumer keeps
/// it inside its `Mutex` (``ConsumerState``) and drives it from two loops: the group loop performs ``Action``s
/// (`KafkaConsumer.runGroup`), the heartbeat loop performs ``HeartbeatAction``s; commits and shutdown report
/// events too. Only the group loop's events move it between phases, except that a rebalance reported while
/// stable revokes the assignment at once (the group loop is then woken and rejoins).
struct GroupMembership: Sendable {
    typealias Instant = ContinuousClock.Instant

    let configuration: Configuration
    private(set) var phase: Phase = .rejoining
    private(set) var memberID = ""
    /// Of the last JoinGroup response (-1 before the first).
    private(set) var generation: Int32 = -1
    /// The leader named by the last JoinGroup response.
    private(set) var lastLeader = ""
    /// Bumped to change this member's subscription metadata: Tansu only re-runs an assignment when a member's
    /// metadata changes (a plain rejoin of a formed group returns the old assignment).
    private(set) var subscriptionEpoch: Int32 = 0
    private(set) var coordinator: KafkaBrokerAddress?
    /// A rebalance asked for while syncing or fetching offsets: join again once the current round completes.
    private(set) var rejoinRequested = false
    private(set) var isShutdown = false
    /// The broker fenced this static member (FENCED_INSTANCE_ID): another process joined under its
    /// `group.instance.id`. It owns nothing any more and stops, without LeaveGroup (the id is the other's now).
    private(set) var isFenced = false
    /// Cleared only by tests that simulate a crashed member.
    private(set) var leaveOnShutdown = true
    /// Bumped on every install and revoke.
    private(set) var assignmentEpoch: UInt64 = 0
    /// Failed attempts since the last installed assignment.
    private(set) var failedAttempts = 0
    private var syncTimeouts = 0

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    var isStable: Bool {
        if case .stable = phase { return true }
        return false
    }

    /// What this member owns (empty unless stable).
    var assignment: [KafkaTopicPartition] {
        if case .stable(let stable) = phase { return stable.assignment }
        return []
    }

    // MARK: Group loop events

    /// The first step.
    mutating func start(now: Instant) -> Action {
        nextStep(now: now)
    }

    /// After a `sleep`: woken or the deadline passed.
    mutating func tick(now: Instant) -> Action {
        nextStep(now: now)
    }

    mutating func coordinatorFound(_ address: KafkaBrokerAddress, now: Instant) -> Action {
        coordinator = address
        guard case .findingCoordinator = phase else { return nextStep(now: now) }
        phase = .rejoining
        return nextStep(now: now)
    }

    /// JoinGroup answered MEMBER_ID_REQUIRED: join again with the id the broker chose.
    mutating func memberIDRequired(_ memberID: String, now: Instant) -> Action {
        self.memberID = memberID
        guard case .joining = phase else { return nextStep(now: now) }
        phase = .rejoining
        return nextStep(now: now)
    }

    /// JoinGroup succeeded. `members` (the leader's response only) maps member ids to their subscribed topics.
    mutating func joined(
        memberID: String, generation: Int32, leader: String, protocolName: String?, members: [String: [String]],
        now: Instant
    ) -> Action {
        self.memberID = memberID
        self.generation = generation
        self.lastLeader = leader
        guard case .joining(let coordinator) = phase, !isShutdown else { return nextStep(now: now) }
        let isLeader = leader == memberID
        phase = .syncing(coordinator, isLeader: isLeader)
        return .sync(
            SyncParameters(
                coordinator: coordinator, generation: generation, memberID: memberID,
                protocolName: protocolName ?? "range", assign: isLeader ? members : nil))
    }

    /// SyncGroup succeeded; `partitionCounts` are those the leader assigned from (nil for a follower).
    mutating func synced(assignment: [KafkaTopicPartition], partitionCounts: [String: Int]?, now: Instant) -> Action {
        guard case .syncing(let coordinator, _) = phase, !isShutdown else { return nextStep(now: now) }
        phase = .fetchingOffsets(coordinator, assignment: assignment, partitionCounts: partitionCounts)
        return .fetchOffsets(coordinator: coordinator, assignment: assignment)
    }

    /// Start positions are known: install the assignment, unless a rebalance was asked for meanwhile.
    mutating func positionsResolved(now: Instant) -> Action {
        guard case .fetchingOffsets(let coordinator, let assignment, let counts) = phase, !isShutdown else {
            return nextStep(now: now)
        }
        guard !rejoinRequested else {
            phase = .rejoining
            return nextStep(now: now)
        }
        let sorted = assignment.sorted()
        assignmentEpoch &+= 1
        failedAttempts = 0
        syncTimeouts = 0
        phase = .stable(
            Stable(
                coordinator: coordinator, assignment: sorted, partitionCounts: counts,
                nextHeartbeat: now.advanced(by: configuration.heartbeatInterval), lastHeartbeatAck: now,
                nextMetadataCheck: now.advanced(by: configuration.metadataCheckInterval)))
        return .assigned(generation: generation, memberID: memberID, assignment: sorted)
    }

    /// The leader's partition-count check: nil when the metadata request failed.
    mutating func partitionCountsChecked(_ counts: [String: Int]?, now: Instant) -> Action {
        if case .stable(let stable) = phase, let counts, let assigned = stable.partitionCounts, counts != assigned {
            subscriptionEpoch &+= 1
            revoke(to: .rejoining)
        }
        return nextStep(now: now)
    }

    /// A step of the group loop failed. `code` is the error's code (nil for an error that is not a `KafkaError`).
    mutating func failed(_ code: KafkaError.Code?, now: Instant) -> Action {
        if isShutdown { return nextStep(now: now) }
        failedAttempts += 1
        let wasSyncing: Bool
        if case .syncing = phase { wasSyncing = true } else { wasSyncing = false }
        var immediate = false
        switch code {
        case .broker(82):
            fence()
            return nextStep(now: now)
        case .broker(27) where wasSyncing:
            // A follower whose SyncGroup keeps timing out waits for a leader that never assigns; join again to
            // shake the group loose.
            immediate = true
            syncTimeouts += 1
            if syncTimeouts >= configuration.syncFailuresBeforeTakeover {
                // Tansu can keep naming a leader that already left (it left a formed group and the rest left
                // before rejoining): nobody assigns, and every follower SyncGroup times out. A live leader would
                // have synced by now, so leave and rejoin under the orphaned leader id, which makes this member
                // the leader.
                syncTimeouts = 0
                let retryAt = failedAttempts > configuration.immediateRetries ? backoffDeadline(now: now) : nil
                revoke(to: .rejoining)
                if let coordinator, !memberID.isEmpty {
                    let leave = LeaveParameters(
                        coordinator: coordinator, memberID: memberID,
                        takingOverFrom: lastLeader.isEmpty ? nil : lastLeader)
                    phase = .leaving(leave, retryAt: retryAt)
                    return .leaveGroup(leave)
                }
                memberID = lastLeader
                if let retryAt { phase = .backingOff(until: retryAt) }
                return nextStep(now: now)
            }
        case .broker(27), .broker(22):
            immediate = true
        case .broker(25):
            memberID = ""
            immediate = true
        case .broker(let code) where KafkaError.coordinatorCodes.contains(code):
            coordinator = nil
        case .connectionClosed, .connectionFailed, .timeout, .protocolViolation:
            coordinator = nil
        default:
            break
        }
        if immediate && failedAttempts <= configuration.immediateRetries {
            revoke(to: .rejoining)
        } else {
            revoke(to: .backingOff(until: backoffDeadline(now: now)))
        }
        return nextStep(now: now)
    }

    /// LeaveGroup completed (or failed): the member id is gone.
    mutating func left(now: Instant) -> Action {
        memberID = ""
        guard case .leaving(let leave, let retryAt) = phase else { return nextStep(now: now) }
        if isShutdown {
            phase = .stopped
            return .stop
        }
        if let orphan = leave.takingOverFrom { memberID = orphan }
        phase = retryAt.map { .backingOff(until: $0) } ?? .rejoining
        return nextStep(now: now)
    }

    // MARK: Events from the heartbeat loop, commits and shutdown

    mutating func heartbeatTick(now: Instant) -> HeartbeatAction {
        if isShutdown { return .stop }
        guard case .stable(var stable) = phase, !memberID.isEmpty else { return .sleep(until: nil) }
        guard now >= stable.nextHeartbeat else { return .sleep(until: stable.nextHeartbeat) }
        stable.nextHeartbeat = now.advanced(by: configuration.heartbeatInterval)
        phase = .stable(stable)
        return .send(Heartbeat(coordinator: stable.coordinator, generation: generation, memberID: memberID))
    }

    /// The answer to `heartbeat`; ignored when the membership moved on since it was sent.
    mutating func heartbeatCompleted(_ heartbeat: Heartbeat, result: HeartbeatResult, now: Instant) -> Change {
        guard isCurrent(generation: heartbeat.generation, memberID: heartbeat.memberID) else { return .none }
        switch result {
        case .ok:
            if case .stable(var stable) = phase {
                stable.lastHeartbeatAck = max(stable.lastHeartbeatAck, now)
                phase = .stable(stable)
            }
            return .none
        case .error(let code):
            return brokerError(code, in: "heartbeat")
        case .failed(connectionLost: true):
            // The broker may be gone; rediscover and rejoin once it is back.
            return rebalance(coordinatorLost: true, reason: "heartbeat: connection lost")
        case .failed(connectionLost: false):
            return .none
        }
    }

    var commitContext: CommitContext? {
        guard case .stable(let stable) = phase else { return nil }
        return CommitContext(
            coordinator: stable.coordinator, generation: generation, memberID: memberID,
            assignment: Set(stable.assignment))
    }

    /// A partition error of a commit made with `context`; ignored when the membership moved on since.
    mutating func commitFailed(_ code: Int16, context: CommitContext) -> Change {
        guard isCurrent(generation: context.generation, memberID: context.memberID) else { return .none }
        return brokerError(code, in: "commit")
    }

    /// Returns false when already shutting down. `leaveGroup: false` stops like a crashed process (no LeaveGroup).
    mutating func shutdown(leaveGroup: Bool = true) -> Bool {
        if !leaveGroup { leaveOnShutdown = false }
        guard !isShutdown else { return false }
        isShutdown = true
        return true
    }

    // MARK: Internals

    private func isCurrent(generation: Int32, memberID: String) -> Bool {
        generation == self.generation && memberID == self.memberID && !memberID.isEmpty
    }

    private mutating func brokerError(_ code: Int16, in context: String) -> Change {
        switch code {
        case 82:
            fence()
            return .fenced
        case 27, 22:
            return rebalance(reason: "\(context): \(KafkaError.brokerErrorName(code))")
        case 25:
            memberID = ""
            return rebalance(reason: "\(context): UNKNOWN_MEMBER_ID")
        case let code where KafkaError.coordinatorCodes.contains(code):
            return rebalance(coordinatorLost: true, reason: "\(context): coordinator moved")
        default:
            return .unhandledError(code)
        }
    }

    /// Stable: revoke now, the group loop rejoins when woken. Syncing or fetching offsets: join again once this
    /// round completes. Otherwise a JoinGroup is due or in flight, and that is the rebalance.
    private mutating func rebalance(coordinatorLost: Bool = false, reason: String) -> Change {
        if coordinatorLost { coordinator = nil }
        switch phase {
        case .stable: revoke(to: .rejoining)
        case .syncing, .fetchingOffsets: rejoinRequested = true
        default: return .none
        }
        return .rebalance(reason: reason)
    }

    private mutating func fence() {
        isFenced = true
        isShutdown = true
        leaveOnShutdown = false
        revoke(to: .stopped)
    }

    private mutating func revoke(to next: Phase) {
        if isStable { assignmentEpoch &+= 1 }
        phase = next
    }

    private func backoffDeadline(now: Instant) -> Instant {
        now.advanced(by: configuration.retryBackoff * min(failedAttempts, 20))
    }

    private mutating func nextStep(now: Instant) -> Action {
        if isShutdown { return beginLeave() }
        switch phase {
        case .backingOff(let until):
            if now < until { return .sleep(until: until) }
            phase = .rejoining
            return nextStep(now: now)
        case .rejoining:
            guard let coordinator else {
                phase = .findingCoordinator
                return .findCoordinator
            }
            rejoinRequested = false
            phase = .joining(coordinator)
            return joinAction(coordinator)
        case .stable(var stable):
            if coordinator == nil {
                revoke(to: .rejoining)
                return nextStep(now: now)
            }
            if now >= stable.lastHeartbeatAck.advanced(by: configuration.sessionTimeout) {
                // No heartbeat got through for a whole session: the broker has dropped this member.
                coordinator = nil
                revoke(to: .rejoining)
                return nextStep(now: now)
            }
            let sessionEnd = stable.lastHeartbeatAck.advanced(by: configuration.sessionTimeout)
            guard let counts = stable.partitionCounts else { return .sleep(until: sessionEnd) }
            if now >= stable.nextMetadataCheck {
                stable.nextMetadataCheck = now.advanced(by: configuration.metadataCheckInterval)
                phase = .stable(stable)
                return .checkPartitionCounts(topics: counts.keys.sorted())
            }
            return .sleep(until: min(sessionEnd, stable.nextMetadataCheck))
        case .findingCoordinator:
            return .findCoordinator
        case .joining(let coordinator):
            return joinAction(coordinator)
        case .syncing, .fetchingOffsets:
            // Only reached when an event arrives for another phase: start the round again.
            phase = .rejoining
            return nextStep(now: now)
        case .leaving(let leave, _):
            return .leaveGroup(leave)
        case .stopped:
            return .stop
        }
    }

    private func joinAction(_ coordinator: KafkaBrokerAddress) -> Action {
        .join(JoinParameters(coordinator: coordinator, memberID: memberID, subscriptionEpoch: subscriptionEpoch))
    }

    private mutating func beginLeave() -> Action {
        switch phase {
        case .stopped: return .stop
        case .leaving(let leave, _): return .leaveGroup(leave)
        default: revoke(to: .rejoining)
        }
        guard leaveOnShutdown, !memberID.isEmpty, let coordinator else {
            phase = .stopped
            return .stop
        }
        let leave = LeaveParameters(coordinator: coordinator, memberID: memberID, takingOverFrom: nil)
        phase = .leaving(leave, retryAt: nil)
        return .leaveGroup(leave)
    }
}
