import NIOCore
import Testing

@testable import KafkaWire

/// The membership state machine alone: events in, actions out, time passed in by the test.
struct GroupMembershipTests {
    typealias Action = GroupMembership.Action

    let coordinator = KafkaBrokerAddress(host: "coordinator", port: 9092)
    let other = KafkaBrokerAddress(host: "other", port: 9093)
    let t0 = ContinuousClock.now
    let topic = "reactions"

    func at(_ offset: Duration) -> ContinuousClock.Instant { t0.advanced(by: offset) }
    func tp(_ partition: Int) -> KafkaTopicPartition { KafkaTopicPartition(topic: topic, partition: partition) }

    func membership() -> GroupMembership {
        GroupMembership(
            configuration: .init(
                heartbeatInterval: .seconds(1), sessionTimeout: .seconds(6), retryBackoff: .milliseconds(100)))
    }

    func join(_ memberID: String, epoch: Int32 = 0, at coordinator: KafkaBrokerAddress? = nil) -> Action {
        .join(.init(coordinator: coordinator ?? self.coordinator, memberID: memberID, subscriptionEpoch: epoch))
    }

    /// FindCoordinator, JoinGroup with the MEMBER_ID_REQUIRED round, as member `m1` of generation 1.
    func joinedUpToSync(_ m: inout GroupMembership, leader: String) -> Action {
        #expect(m.start(now: t0) == .findCoordinator)
        #expect(m.coordinatorFound(coordinator, now: t0) == join(""))
        #expect(m.memberIDRequired("m1", now: t0) == join("m1"))
        return m.joined(
            memberID: "m1", generation: 1, leader: leader, protocolName: "range",
            members: leader == "m1" ? ["m1": [topic], "m2": [topic]] : [:], now: t0)
    }

    /// A stable member: the leader (`m1`) owns partitions 1 and 0 of a 2-partition topic, a follower partition 0.
    func stable(leader: Bool = false) -> GroupMembership {
        var m = membership()
        _ = joinedUpToSync(&m, leader: leader ? "m1" : "m0")
        _ = m.synced(assignment: [tp(1), tp(0)], partitionCounts: leader ? [topic: 2] : nil, now: t0)
        _ = m.positionsResolved(now: t0)
        #expect(m.isStable)
        return m
    }

    func heartbeat(_ m: GroupMembership) -> GroupMembership.Heartbeat {
        .init(coordinator: coordinator, generation: m.generation, memberID: m.memberID)
    }

    // MARK: First join

    @Test func firstJoinAsLeaderAssignsAndInstalls() {
        var m = membership()
        let sync = joinedUpToSync(&m, leader: "m1")
        #expect(
            sync
                == .sync(
                    .init(
                        coordinator: coordinator, generation: 1, memberID: "m1", protocolName: "range",
                        assign: ["m1": [topic], "m2": [topic]])))
        #expect(m.memberID == "m1" && m.generation == 1 && m.lastLeader == "m1")
        #expect(!m.isStable)
        #expect(
            m.synced(assignment: [tp(1), tp(0)], partitionCounts: [topic: 2], now: t0)
                == .fetchOffsets(coordinator: coordinator, assignment: [tp(1), tp(0)]))
        #expect(m.assignmentEpoch == 0)
        #expect(m.positionsResolved(now: t0) == .assigned(generation: 1, memberID: "m1", assignment: [tp(0), tp(1)]))
        #expect(m.isStable && m.assignment == [tp(0), tp(1)] && m.assignmentEpoch == 1)
        #expect(
            m.commitContext
                == .init(coordinator: coordinator, generation: 1, memberID: "m1", assignment: [tp(0), tp(1)]))
        // The leader's next step is its partition-count check (5 s), before the session would expire (6 s).
        #expect(m.tick(now: at(.seconds(1))) == .sleep(until: at(.seconds(5))))
    }

    @Test func firstJoinAsFollowerSyncsWithoutAssigning() {
        var m = membership()
        let sync = joinedUpToSync(&m, leader: "m0")
        #expect(
            sync
                == .sync(
                    .init(coordinator: coordinator, generation: 1, memberID: "m1", protocolName: "range", assign: nil)))
        #expect(m.lastLeader == "m0")
        _ = m.synced(assignment: [tp(0)], partitionCounts: nil, now: t0)
        #expect(m.positionsResolved(now: t0) == .assigned(generation: 1, memberID: "m1", assignment: [tp(0)]))
        // A follower never checks partition counts: it sleeps until its session would expire.
        #expect(m.tick(now: at(.seconds(5))) == .sleep(until: at(.seconds(6))))
    }

    @Test func aFollowerSyncWithNoAssignmentIsStableOwningNothing() {
        var m = membership()
        _ = joinedUpToSync(&m, leader: "m0")
        #expect(m.synced(assignment: [], partitionCounts: nil, now: t0) == .fetchOffsets(coordinator: coordinator, assignment: []))
        #expect(m.positionsResolved(now: t0) == .assigned(generation: 1, memberID: "m1", assignment: []))
        #expect(m.isStable && m.assignment.isEmpty && m.commitContext?.generation == 1)
    }

    @Test func followerSyncTimeoutsEndInTakingOverTheOrphanedLeaderID() {
        var m = membership()
        _ = joinedUpToSync(&m, leader: "m0")
        // Two SyncGroup timeouts (REBALANCE_IN_PROGRESS): rejoin at once, as the same member.
        #expect(m.failed(.broker(27), now: t0) == join("m1"))
        _ = m.joined(memberID: "m1", generation: 2, leader: "m0", protocolName: "range", members: [:], now: t0)
        #expect(m.failed(.broker(27), now: t0) == join("m1"))
        _ = m.joined(memberID: "m1", generation: 3, leader: "m0", protocolName: "range", members: [:], now: t0)
        // The third: leave, and rejoin under the leader's id.
        #expect(
            m.failed(.broker(27), now: t0)
                == .leaveGroup(.init(coordinator: coordinator, memberID: "m1", takingOverFrom: "m0")))
        #expect(m.left(now: t0) == join("m0"))
        #expect(m.memberID == "m0")
    }

    // MARK: Failed steps

    @Test func failedSyncsRejoinAtOnceThenBackOff() {
        var m = membership()
        _ = joinedUpToSync(&m, leader: "m1")
        #expect(m.failed(.broker(22), now: t0) == join("m1"))
        _ = m.joined(memberID: "m1", generation: 2, leader: "m1", protocolName: nil, members: ["m1": [topic]], now: t0)
        #expect(m.failed(.broker(27), now: t0) == join("m1"))
        #expect(m.failed(.broker(27), now: t0) == join("m1"))
        #expect(m.failedAttempts == 3)
        // The fourth failure in a row backs off for retryBackoff × attempts.
        #expect(m.failed(.broker(27), now: t0) == .sleep(until: at(.milliseconds(400))))
        #expect(m.tick(now: at(.milliseconds(399))) == .sleep(until: at(.milliseconds(400))))
        #expect(m.tick(now: at(.milliseconds(400))) == join("m1"))
        // An installed assignment resets the count.
        _ = m.joined(memberID: "m1", generation: 3, leader: "m0", protocolName: nil, members: [:], now: t0)
        _ = m.synced(assignment: [tp(0)], partitionCounts: nil, now: t0)
        _ = m.positionsResolved(now: t0)
        #expect(m.failedAttempts == 0)
    }

    @Test func aLostConnectionFindsTheCoordinatorAgainAfterABackoff() {
        var m = membership()
        _ = joinedUpToSync(&m, leader: "m0")
        #expect(m.failed(.connectionClosed, now: t0) == .sleep(until: at(.milliseconds(100))))
        #expect(m.coordinator == nil)
        #expect(m.tick(now: at(.milliseconds(100))) == .findCoordinator)
        #expect(m.coordinatorFound(other, now: at(.milliseconds(150))) == join("m1", at: other))
    }

    @Test func joinErrorsResetTheMemberOrTheCoordinator() {
        var m = membership()
        _ = m.start(now: t0)
        _ = m.coordinatorFound(coordinator, now: t0)
        _ = m.memberIDRequired("m1", now: t0)
        // UNKNOWN_MEMBER_ID: join at once as a new member.
        #expect(m.failed(.broker(25), now: t0) == join(""))
        // NOT_COORDINATOR: back off, then find the coordinator.
        #expect(m.failed(.broker(16), now: t0) == .sleep(until: at(.milliseconds(200))))
        #expect(m.tick(now: at(.seconds(1))) == .findCoordinator)
    }

    // MARK: Rebalances while stable

    @Test func heartbeatRebalanceInProgressRevokesAndRejoins() {
        var m = stable()
        let epoch = m.assignmentEpoch
        #expect(m.heartbeatTick(now: at(.milliseconds(500))) == .sleep(until: at(.seconds(1))))
        let sent = m.heartbeatTick(now: at(.seconds(1)))
        #expect(sent == .send(heartbeat(m)))
        #expect(
            m.heartbeatCompleted(heartbeat(m), result: .error(27), now: at(.seconds(1)))
                == .rebalance(reason: "heartbeat: REBALANCE_IN_PROGRESS"))
        #expect(!m.isStable && m.assignment.isEmpty && m.assignmentEpoch == epoch + 1)
        #expect(m.commitContext == nil)
        #expect(m.heartbeatTick(now: at(.seconds(2))) == .sleep(until: nil))
        #expect(m.tick(now: at(.seconds(1))) == join("m1"))
    }

    @Test func heartbeatUnknownMemberResetsTheMemberID() {
        var m = stable()
        #expect(
            m.heartbeatCompleted(heartbeat(m), result: .error(25), now: at(.seconds(1)))
                == .rebalance(reason: "heartbeat: UNKNOWN_MEMBER_ID"))
        #expect(m.memberID == "" && !m.isStable)
        #expect(m.tick(now: at(.seconds(1))) == join(""))
    }

    @Test func heartbeatIllegalGenerationRejoinsAsTheSameMember() {
        var m = stable()
        #expect(
            m.heartbeatCompleted(heartbeat(m), result: .error(22), now: at(.seconds(1)))
                == .rebalance(reason: "heartbeat: ILLEGAL_GENERATION"))
        #expect(m.tick(now: at(.seconds(1))) == join("m1"))
    }

    @Test(arguments: [GroupMembership.HeartbeatResult.error(14), .error(15), .error(16), .failed(connectionLost: true)])
    func coordinatorMovedFindsItAgain(result: GroupMembership.HeartbeatResult) {
        var m = stable()
        guard case .rebalance = m.heartbeatCompleted(heartbeat(m), result: result, now: at(.seconds(1))) else {
            Issue.record("no rebalance for \(result)")
            return
        }
        #expect(m.coordinator == nil && !m.isStable)
        #expect(m.tick(now: at(.seconds(1))) == .findCoordinator)
        #expect(m.coordinatorFound(other, now: at(.seconds(1))) == join("m1", at: other))
    }

    @Test func otherHeartbeatErrorsLeaveTheMemberStable() {
        var m = stable()
        #expect(m.heartbeatCompleted(heartbeat(m), result: .error(87), now: at(.seconds(1))) == .unhandledError(87))
        #expect(m.heartbeatCompleted(heartbeat(m), result: .failed(connectionLost: false), now: at(.seconds(1))) == .none)
        #expect(m.isStable && m.assignment == [tp(0), tp(1)])
    }

    @Test func aFencedStaticMemberRevokesAndStopsWithoutLeaving() {
        var m = stable()
        let epoch = m.assignmentEpoch
        #expect(m.heartbeatCompleted(heartbeat(m), result: .error(82), now: at(.seconds(1))) == .fenced)
        #expect(m.isFenced && m.isShutdown && !m.isStable && m.assignment.isEmpty && m.assignmentEpoch == epoch + 1)
        #expect(m.tick(now: at(.seconds(1))) == .stop)  // no LeaveGroup: the instance id belongs to the other process
        #expect(m.heartbeatTick(now: at(.seconds(2))) == .stop)
    }

    @Test func aStaticMemberFencedWhileJoiningStops() {
        var m = membership()
        #expect(m.start(now: t0) == .findCoordinator)
        #expect(m.coordinatorFound(coordinator, now: t0) == join(""))
        #expect(m.failed(.broker(82), now: t0) == .stop)
        #expect(m.isFenced && m.assignment.isEmpty)
    }

    @Test func aCommitAnsweredFencedStopsTheMember() throws {
        var m = stable()
        let context = try #require(m.commitContext)
        #expect(m.commitFailed(82, context: context) == .fenced)
        #expect(m.isFenced && m.assignment.isEmpty && m.commitContext == nil)
    }

    @Test func aHeartbeatAnswerForAnOlderGenerationIsIgnored() {
        var m = stable()
        let old = heartbeat(m)
        _ = m.heartbeatCompleted(old, result: .error(27), now: at(.seconds(1)))
        _ = m.tick(now: at(.seconds(1)))
        _ = m.joined(memberID: "m1", generation: 2, leader: "m0", protocolName: "range", members: [:], now: at(.seconds(4)))
        _ = m.synced(assignment: [tp(0)], partitionCounts: nil, now: at(.seconds(4)))
        _ = m.positionsResolved(now: at(.seconds(4)))
        // A second answer to the generation-1 heartbeat arrives late.
        #expect(m.heartbeatCompleted(old, result: .error(27), now: at(.seconds(4))) == .none)
        #expect(m.isStable && m.generation == 2)
    }

    @Test func aRebalanceReportedDuringTheRoundRejoinsInsteadOfInstalling() {
        var m = stable()
        let context = m.commitContext!
        _ = m.heartbeatCompleted(heartbeat(m), result: .error(27), now: at(.seconds(1)))
        _ = m.tick(now: at(.seconds(1)))
        _ = m.joined(memberID: "m1", generation: 2, leader: "m0", protocolName: "range", members: [:], now: at(.seconds(4)))
        // A commit made at generation 1 is stale now; one at generation 2 is not.
        #expect(m.commitFailed(27, context: context) == .none)
        var current = context
        current.generation = 2
        #expect(m.commitFailed(27, context: current) == .rebalance(reason: "commit: REBALANCE_IN_PROGRESS"))
        _ = m.synced(assignment: [tp(0)], partitionCounts: nil, now: at(.seconds(4)))
        #expect(m.positionsResolved(now: at(.seconds(4))) == join("m1"))
        #expect(!m.isStable)
    }

    @Test func aCommitByAnUnknownMemberRevokesAndResets() {
        var m = stable()
        let context = m.commitContext!
        #expect(m.commitFailed(25, context: context) == .rebalance(reason: "commit: UNKNOWN_MEMBER_ID"))
        #expect(m.memberID == "" && m.commitContext == nil)
        #expect(m.tick(now: at(.seconds(1))) == join(""))
    }

    // MARK: Metadata changes

    @Test func theLeaderRebalancesWithABumpedSubscriptionEpochWhenPartitionsGrow() {
        var m = stable(leader: true)
        #expect(m.tick(now: at(.seconds(5))) == .checkPartitionCounts(topics: [topic]))
        // Unchanged, or the look-up failed: stay, check again in 5 s (the session ends first without heartbeats).
        #expect(m.partitionCountsChecked([topic: 2], now: at(.seconds(5))) == .sleep(until: at(.seconds(6))))
        #expect(m.partitionCountsChecked(nil, now: at(.seconds(5))) == .sleep(until: at(.seconds(6))))
        _ = m.heartbeatCompleted(heartbeat(m), result: .ok, now: at(.seconds(5)))
        #expect(m.tick(now: at(.seconds(5))) == .sleep(until: at(.seconds(10))))
        #expect(m.subscriptionEpoch == 0 && m.isStable)
        #expect(m.tick(now: at(.seconds(10))) == .checkPartitionCounts(topics: [topic]))
        #expect(m.partitionCountsChecked([topic: 4], now: at(.seconds(10))) == join("m1", epoch: 1))
        #expect(m.subscriptionEpoch == 1 && !m.isStable && m.assignment.isEmpty)
    }

    @Test func theLeaderRebalancesWhenASubscribedTopicAppears() {
        var m = membership()
        _ = joinedUpToSync(&m, leader: "m1")
        _ = m.synced(assignment: [], partitionCounts: [topic: 0], now: t0)
        _ = m.positionsResolved(now: t0)
        #expect(m.tick(now: at(.seconds(5))) == .checkPartitionCounts(topics: [topic]))
        #expect(m.partitionCountsChecked([topic: 2], now: at(.seconds(5))) == join("m1", epoch: 1))
    }

    // MARK: Heartbeat timing and the session

    @Test func heartbeatsAreDueEveryIntervalWhileStable() {
        var m = membership()
        #expect(m.heartbeatTick(now: t0) == .sleep(until: nil))
        m = stable()
        #expect(m.heartbeatTick(now: at(.milliseconds(999))) == .sleep(until: at(.seconds(1))))
        #expect(m.heartbeatTick(now: at(.milliseconds(1200))) == .send(heartbeat(m)))
        // Due one interval after it was sent.
        #expect(m.heartbeatTick(now: at(.milliseconds(1300))) == .sleep(until: at(.milliseconds(2200))))
        #expect(m.heartbeatTick(now: at(.milliseconds(2200))) == .send(heartbeat(m)))
    }

    @Test func acknowledgedHeartbeatsKeepTheSessionAndMissingOnesExpireIt() {
        var m = stable()
        #expect(m.tick(now: at(.seconds(1))) == .sleep(until: at(.seconds(6))))
        _ = m.heartbeatCompleted(heartbeat(m), result: .ok, now: at(.seconds(3)))
        #expect(m.tick(now: at(.seconds(6))) == .sleep(until: at(.seconds(9))))
        #expect(m.isStable)
        // No heartbeat got through for a session: the broker has dropped us; find the coordinator and rejoin.
        #expect(m.tick(now: at(.seconds(9))) == .findCoordinator)
        #expect(!m.isStable && m.coordinator == nil && m.memberID == "m1")
    }

    // MARK: Shutdown

    @Test func shutdownLeavesTheGroupOnce() {
        var m = stable()
        let first = m.shutdown()
        let second = m.shutdown()
        #expect(first && !second)
        #expect(m.heartbeatTick(now: at(.seconds(2))) == .stop)
        #expect(
            m.tick(now: at(.seconds(1)))
                == .leaveGroup(.init(coordinator: coordinator, memberID: "m1", takingOverFrom: nil)))
        #expect(!m.isStable && m.assignment.isEmpty)
        #expect(m.left(now: at(.seconds(1))) == .stop)
        #expect(m.memberID == "" && m.tick(now: at(.seconds(2))) == .stop)
    }

    @Test func shutdownWithoutAMemberIDJustStops() {
        var m = membership()
        #expect(m.start(now: t0) == .findCoordinator)
        _ = m.shutdown()
        #expect(m.coordinatorFound(coordinator, now: t0) == .stop)
    }

    @Test func aCrashedMemberDoesNotLeave() {
        var m = stable()
        _ = m.shutdown(leaveGroup: false)
        // The graceful shutdown that follows a crash does not turn leaving back on.
        _ = m.shutdown()
        #expect(m.tick(now: at(.seconds(1))) == .stop)
        #expect(!m.isStable)
    }

    @Test func shutdownDuringAJoinLeavesWithTheNewMemberID() {
        var m = membership()
        _ = m.start(now: t0)
        _ = m.coordinatorFound(coordinator, now: t0)
        _ = m.shutdown()
        #expect(
            m.joined(memberID: "m7", generation: 3, leader: "m0", protocolName: "range", members: [:], now: t0)
                == .leaveGroup(.init(coordinator: coordinator, memberID: "m7", takingOverFrom: nil)))
    }

    // MARK: The consumer's state follows the membership

    @Test func theFetchStateFollowsInstallAndRevoke() {
        var state = ConsumerState(membership: membership())
        var (action, changed) = state.withMembership { m in joinedUpToSync(&m, leader: "m0") }
        #expect(!changed)
        (action, changed) = state.withMembership { $0.synced(assignment: [tp(0)], partitionCounts: nil, now: t0) }
        #expect(action == .fetchOffsets(coordinator: coordinator, assignment: [tp(0)]))
        (action, changed) = state.positionsResolved([tp(0): .known(7)], now: t0)
        #expect(changed && state.installed && state.assignment == [tp(0)] && state.fetchPositions == [tp(0): .known(7)])
        let epoch = state.epoch
        state.buffer.append(
            KafkaConsumerMessage(
                topic: topic, partition: 0, offset: 7, key: nil, value: nil, headers: [], timestamp: 0))
        #expect(state.poll(max: 0).generation == 1)
        let hb = heartbeat(state.membership)
        let (change, revoked) = state.withMembership { $0.heartbeatCompleted(hb, result: .error(27), now: t0) }
        #expect(change == .rebalance(reason: "heartbeat: REBALANCE_IN_PROGRESS") && revoked)
        #expect(!state.installed && state.assignment.isEmpty && state.buffer.isEmpty && state.epoch == epoch + 1)
    }
}
