import Logging
import NIOCore

extension KafkaConsumer {
    typealias GroupAction = GroupMembership.Action

    /// Performs the actions of the membership state machine (``GroupMembership``) until it stops: it decides, this
    /// loop only does the IO and reports the outcome as the next event.
    func runGroup(id groupID: String, topics: [String]) async {
        var (action, seen) = step { $0.start(now: $1) }
        while true {
            if Task.isCancelled {
                triggerGracefulShutdown()
                (action, seen) = step { $0.tick(now: $1) }
            }
            switch action {
            case .stop:
                return
            case .sleep(let deadline):
                await control.wait(after: seen, deadline: deadline)
                (action, seen) = step { $0.tick(now: $1) }
            case .findCoordinator:
                do {
                    let address = try await findCoordinator(groupID: groupID)
                    (action, seen) = step { $0.coordinatorFound(address, now: $1) }
                } catch {
                    (action, seen) = failure(error)
                }
            case .join(let join):
                do {
                    let metadata = subscription(topics, epoch: join.subscriptionEpoch)
                    let response = try await cluster.send(
                        JoinGroupRequest(
                            groupID: groupID, sessionTimeoutMs: configuration.sessionTimeout.kafkaMillis32,
                            rebalanceTimeoutMs: configuration.rebalanceTimeout.kafkaMillis32, memberID: join.memberID,
                            groupInstanceID: configuration.groupInstanceID, protocols: [(name: "range", metadata: metadata)]),
                        to: join.coordinator, role: .coordinator, timeout: joinSyncTimeout)
                    if response.errorCode == 79 {
                        (action, seen) = step { $0.memberIDRequired(response.memberID, now: $1) }
                        continue
                    }
                    guard response.errorCode == 0 else { throw KafkaError.broker(response.errorCode, "JoinGroup") }
                    var members: [String: [String]] = [:]
                    for member in response.members {
                        members[member.memberID] = (try? ConsumerProtocol.decodeSubscription(member.metadata)) ?? []
                    }
                    (action, seen) = step {
                        $0.joined(
                            memberID: response.memberID, generation: response.generationID, leader: response.leader,
                            protocolName: response.protocolName, members: members, now: $1)
                    }
                } catch {
                    (action, seen) = failure(error)
                }
            case .sync(let sync):
                do {
                    let (assignment, counts) = try await syncGroup(groupID: groupID, sync)
                    (action, seen) = step { $0.synced(assignment: assignment, partitionCounts: counts, now: $1) }
                } catch {
                    (action, seen) = failure(error)
                }
            case .fetchOffsets(let coordinator, let assignment):
                do {
                    let (positions, metadata) = try await initialPositions(
                        groupID: groupID, assignment: assignment, coordinator: coordinator)
                    seen = control.version
                    let (next, changed) = state.withLock {
                        $0.positionsResolved(positions, metadata: metadata, now: .now)
                    }
                    if changed { notifyAll() }
                    action = next
                } catch {
                    (action, seen) = failure(error)
                }
            case .assigned(let generation, let memberID, let assignment):
                logger.info(
                    "joined consumer group",
                    metadata: [
                        "generation": "\(generation)", "member": "\(memberID)",
                        "assignment": "\(assignment.map(\.description).joined(separator: ","))",
                    ])
                (action, seen) = step { $0.tick(now: $1) }
            case .checkPartitionCounts(let topics):
                let counts = try? await currentPartitionCounts(topics)
                seen = control.version
                let (next, changed) = state.withLock {
                    $0.withMembership { $0.partitionCountsChecked(counts, now: .now) }
                }
                if changed {
                    logger.info(
                        "consumer group rebalance needed",
                        metadata: ["reason": "partition counts changed: \(counts.map { "\($0)" } ?? "")"])
                    notifyAll()
                }
                action = next
            case .leaveGroup(let leave):
                if let orphan = leave.takingOverFrom {
                    logger.warning(
                        "group leader never assigned partitions; taking over its member id",
                        metadata: ["leader": "\(orphan)"])
                }
                await leaveGroup(groupID: groupID, leave)
                (action, seen) = step { $0.left(now: $1) }
            }
        }
    }

    /// Applies a group-loop event at the current time; returns the next action and the `control` version read
    /// before it (for a `sleep`). Wakes the fetcher and pollers when the assignment changed.
    private func step(
        _ event: (inout GroupMembership, ContinuousClock.Instant) -> GroupAction
    ) -> (GroupAction, UInt64) {
        let seen = control.version
        let (action, changed) = state.withLock { state in state.withMembership { event(&$0, .now) } }
        if changed { notifyAll() }
        return (action, seen)
    }

    private func failure(_ error: any Error) -> (GroupAction, UInt64) {
        let code = (error as? KafkaError)?.code
        let seen = control.version
        let (action, changed, attempts) = state.withLock { state in
            let (action, changed) = state.withMembership { $0.failed(code, now: .now) }
            return (action, changed, state.membership.failedAttempts)
        }
        if changed { notifyAll() }
        if !isShutdown {
            logger.log(
                level: attempts > 3 || code == nil ? .warning : .debug, "consumer group join failed, retrying",
                metadata: ["error": "\(error)"])
        }
        return (action, seen)
    }

    /// Join/Sync block on the broker for up to the rebalance/session timeout.
    private var joinSyncTimeout: Duration {
        max(configuration.client.requestTimeout, configuration.rebalanceTimeout + .seconds(5))
    }

    private func subscription(_ topics: [String], epoch: Int32) -> ByteBuffer {
        var userData: ByteBuffer?
        if epoch != 0 {
            var buffer = ByteBuffer()
            buffer.writeInteger(epoch)
            userData = buffer
        }
        return ConsumerProtocol.encodeSubscription(topics: topics, userData: userData)
    }

    private func findCoordinator(groupID: String) async throws -> KafkaBrokerAddress {
        let response = try await cluster.sendToAny(FindCoordinatorRequest(key: groupID), role: .metadata)
        guard response.errorCode == 0 else {
            throw KafkaError.broker(response.errorCode, "FindCoordinator", brokerMessage: response.errorMessage)
        }
        let address = KafkaBrokerAddress(host: response.host, port: Int(response.port))
        logger.debug("found group coordinator", metadata: ["coordinator": "\(address)"])
        return address
    }

    /// SyncGroup; the leader first assigns with the range assignor from fresh partition counts, and returns them.
    private func syncGroup(groupID: String, _ sync: GroupMembership.SyncParameters) async throws
        -> (assignment: [KafkaTopicPartition], partitionCounts: [String: Int]?)
    {
        var assignments: [(memberID: String, assignment: ByteBuffer)] = []
        var leaderCounts: [String: Int]?
        if let subscriptions = sync.assign {
            let counts = try await currentPartitionCounts(Array(Set(subscriptions.values.flatMap { $0 })))
            leaderCounts = counts
            let plan = RangeAssignor.assign(subscriptions: subscriptions, partitionCounts: counts)
            assignments = plan.map { (memberID: $0.key, assignment: ConsumerProtocol.encodeAssignment($0.value)) }
            logger.debug(
                "leading consumer group",
                metadata: ["generation": "\(sync.generation)", "members": "\(subscriptions.count)"])
        }
        let response = try await cluster.send(
            SyncGroupRequest(
                groupID: groupID, generationID: sync.generation, memberID: sync.memberID,
                groupInstanceID: configuration.groupInstanceID, protocolName: sync.protocolName, assignments: assignments),
            to: sync.coordinator, role: .coordinator, timeout: joinSyncTimeout)
        guard response.errorCode == 0 else {
            throw KafkaError.broker(response.errorCode, "SyncGroup")
        }
        return (try ConsumerProtocol.decodeAssignment(response.assignment), leaderCounts)
    }

    private func leaveGroup(groupID: String, _ leave: GroupMembership.LeaveParameters) async {
        do {
            let response = try await cluster.send(
                LeaveGroupRequest(groupID: groupID, memberID: leave.memberID, groupInstanceID: configuration.groupInstanceID), to: leave.coordinator,
                role: .heartbeat, timeout: .seconds(5))
            logger.debug(
                "left consumer group", metadata: ["member": "\(leave.memberID)", "error": "\(response.errorCode)"])
        } catch {
            logger.debug("LeaveGroup failed", metadata: ["error": "\(error)"])
        }
    }

    func sleepUnlessShutdown(_ duration: Duration) async {
        let seen = control.version
        if isShutdown { return }
        await control.wait(after: seen, deadline: ContinuousClock.now.advanced(by: duration))
    }

    /// Partition counts of `topics` from fresh metadata (0 for a topic that does not exist).
    func currentPartitionCounts(_ topics: [String]) async throws -> [String: Int] {
        try await cluster.refreshMetadata(topics: topics)
        let metadata = cluster.metadata
        var counts: [String: Int] = [:]
        for topic in topics { counts[topic] = metadata.topics[topic]?.partitionCount ?? 0 }
        return counts
    }

    /// Committed offsets (and the metadata committed with them), else the reset policy.
    private func initialPositions(
        groupID: String, assignment: [KafkaTopicPartition], coordinator: KafkaBrokerAddress
    ) async throws -> ([KafkaTopicPartition: ConsumerState.Position], metadata: [KafkaTopicPartition: String]) {
        guard !assignment.isEmpty else { return ([:], [:]) }
        // Positions belong to one incarnation of each topic: learn its current id with them (a topic created again,
        // by a broker that lost its data, has a new id and offsets that start over).
        try await cluster.refreshMetadata(topics: Array(Set(assignment.map(\.topic))))
        var byTopic: [String: [Int32]] = [:]
        for tp in assignment { byTopic[tp.topic, default: []].append(Int32(tp.partition)) }
        let response = try await cluster.send(
            OffsetFetchRequest(groupID: groupID, topics: byTopic.map { (name: $0.key, partitions: $0.value) }),
            to: coordinator, role: .commit)
        guard response.errorCode == 0 else { throw KafkaError.broker(response.errorCode, "OffsetFetch") }
        var positions: [KafkaTopicPartition: ConsumerState.Position] = [:]
        var metadata: [KafkaTopicPartition: String] = [:]
        var missing: [KafkaTopicPartition] = []
        for topic in response.topics {
            for p in topic.partitions {
                let tp = KafkaTopicPartition(topic: topic.name, partition: Int(p.partition))
                if p.errorCode == 0 && p.committedOffset >= 0 {
                    positions[tp] = .known(p.committedOffset)
                    if let text = p.metadata, !text.isEmpty { metadata[tp] = text }
                }
            }
        }
        for tp in assignment where positions[tp] == nil { missing.append(tp) }
        if !missing.isEmpty {
            let start: KafkaStartOffset = configuration.autoOffsetReset == .earliest ? .earliest : .latest
            let resolved = try await resolveStartPositions(Dictionary(uniqueKeysWithValues: missing.map { ($0, start) }))
            positions.merge(resolved) { a, _ in a }
        }
        return (positions, metadata)
    }

    /// Start positions via ListOffsets: earliest exactly; latest and tail(n) via a probe offset that the first Fetch
    /// refines with the partition's high watermark (Tansu's ListOffsets LATEST can be below it).
    func resolveStartPositions(_ starts: [KafkaTopicPartition: KafkaStartOffset]) async throws
        -> [KafkaTopicPartition: ConsumerState.Position]
    {
        var positions: [KafkaTopicPartition: ConsumerState.Position] = [:]
        var lookups: [KafkaTopicPartition: Int64] = [:]
        for (tp, start) in starts {
            switch start {
            case .offset(let offset): positions[tp] = .known(offset)
            case .earliest: lookups[tp] = ListOffsetsRequest.earliest
            case .latest, .tail: lookups[tp] = ListOffsetsRequest.latest
            }
        }
        guard !lookups.isEmpty else { return positions }
        // Group by leader.
        var perLeader: [KafkaBrokerAddress: [KafkaTopicPartition]] = [:]
        for tp in lookups.keys {
            perLeader[try await cluster.leader(of: tp), default: []].append(tp)
        }
        for (leader, tps) in perLeader {
            var byTopic: [String: [(partition: Int32, timestamp: Int64)]] = [:]
            for tp in tps { byTopic[tp.topic, default: []].append((Int32(tp.partition), lookups[tp]!)) }
            let response = try await cluster.send(
                ListOffsetsRequest(topics: byTopic.map { (name: $0.key, partitions: $0.value) }), to: leader,
                role: .metadata)
            for topic in response.topics {
                for p in topic.partitions {
                    let tp = KafkaTopicPartition(topic: topic.name, partition: Int(p.partition))
                    guard p.errorCode == 0 else {
                        if KafkaError.staleMetadataCodes.contains(p.errorCode) {
                            _ = try? await cluster.refreshMetadata(topics: [tp.topic])
                        }
                        throw KafkaError.broker(p.errorCode, "ListOffsets for \(tp)")
                    }
                    let offset = max(0, p.offset)
                    switch starts[tp] {
                    case .earliest: positions[tp] = .known(offset)
                    case .latest: positions[tp] = .resolveLatest(probe: offset)
                    case .tail(let n): positions[tp] = .resolveTail(max(0, n), probe: offset)
                    default: break
                    }
                }
            }
        }
        for tp in starts.keys where positions[tp] == nil {
            throw KafkaError.broker(3, "ListOffsets returned nothing for \(tp)")
        }
        return positions
    }

    /// Heartbeats every `heartbeatInterval` on their own connection while the member is stable; the answers can
    /// start rebalances (27/22), resets (25) and coordinator look-ups (14/15/16, lost connections).
    func runHeartbeats(groupID: String) async {
        while !Task.isCancelled {
            let seen = control.version
            let (action, _) = state.withLock { $0.withMembership { $0.heartbeatTick(now: .now) } }
            switch action {
            case .stop:
                return
            case .sleep(let deadline):
                await control.wait(after: seen, deadline: deadline)
            case .send(let heartbeat):
                let result: GroupMembership.HeartbeatResult
                do {
                    let response = try await cluster.send(
                        HeartbeatRequest(
                            groupID: groupID, generationID: heartbeat.generation, memberID: heartbeat.memberID,
                            groupInstanceID: configuration.groupInstanceID),
                        to: heartbeat.coordinator, role: .heartbeat)
                    result = response.errorCode == 0 ? .ok : .error(response.errorCode)
                } catch {
                    if isShutdown { return }
                    logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                    let code = (error as? KafkaError)?.code
                    result = .failed(connectionLost: code == .connectionFailed || code == .connectionClosed)
                }
                let outcome = state.withLock {
                    $0.withMembership { $0.heartbeatCompleted(heartbeat, result: result, now: .now) }
                }
                if case .unhandledError(let code) = outcome.0 {
                    logger.warning("heartbeat failed", metadata: ["error": "\(KafkaError.brokerErrorName(code))"])
                }
                report(outcome)
            }
        }
    }

    /// Manual assignment: resolve start positions (retrying until the broker answers), then fetch.
    func runManualAssignment(_ starts: [KafkaTopicPartition: KafkaStartOffset]) async {
        while !isShutdown {
            do {
                let positions = try await resolveStartPositions(starts)
                state.withLock { $0.install(assignment: Array(starts.keys), positions: positions) }
                notifyAll()
                return
            } catch {
                logger.debug("resolving start offsets failed, retrying", metadata: ["error": "\(error)"])
                await sleepUnlessShutdown(configuration.client.retryBackoff)
            }
        }
    }
}
