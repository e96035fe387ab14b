import Logging
import NIOCore

extension KafkaConsumer {
    /// Membership: FindCoordinator → JoinGroup (MEMBER_ID_REQUIRED round) → SyncGroup (the leader assigns with the
    /// range assignor) → positions from OffsetFetch/reset → stable until a rebalance is needed → revoke → rejoin.
    /// Leaves the group on shutdown.
    func runGroup(id groupID: String, topics: [String]) async {
        var attempt = 0
        var followerSyncFailures = 0
        while !isShutdown {
            do {
                let coordinator = try await currentCoordinator(groupID: groupID)
                let joined = try await joinAndSync(groupID: groupID, topics: topics, coordinator: coordinator)
                if isShutdown { break }
                let positions = try await initialPositions(
                    groupID: groupID, assignment: joined.assignment, coordinator: coordinator)
                let installed = state.withLock { state -> Bool in
                    guard !state.shutdown, !state.rejoinNeeded else { return false }
                    state.install(assignment: joined.assignment, positions: positions, generation: joined.generation)
                    return true
                }
                guard installed else { continue }
                attempt = 0
                followerSyncFailures = 0
                logger.info(
                    "joined consumer group",
                    metadata: [
                        "generation": "\(joined.generation)", "member": "\(joined.memberID)",
                        "assignment": "\(joined.assignment.map(\.description).joined(separator: ","))",
                    ])
                notifyAll()
                // Stable until a heartbeat or commit asks for a rebalance, or shutdown. The leader also watches
                // the subscribed topics' partition counts (topics created or grown later) and rebalances on change.
                var nextMetadataCheck = ContinuousClock.now.advanced(by: Self.metadataCheckInterval)
                while true {
                    let seen = control.version
                    let (rejoin, shutdown) = state.withLock { ($0.rejoinNeeded, $0.shutdown) }
                    if rejoin || shutdown || Task.isCancelled { break }
                    if let counts = joined.partitionCounts, ContinuousClock.now >= nextMetadataCheck {
                        nextMetadataCheck = ContinuousClock.now.advanced(by: Self.metadataCheckInterval)
                        if let current = try? await currentPartitionCounts(Array(counts.keys)), current != counts {
                            state.withLock { $0.subscriptionEpoch &+= 1 }
                            requestRejoin(resetMember: false, reason: "partition counts changed: \(counts) -> \(current)")
                            continue
                        }
                    }
                    await control.wait(after: seen, deadline: joined.partitionCounts == nil ? nil : nextMetadataCheck)
                }
                state.withLock { $0.revoke() }
                notifyAll()
            } catch let error as KafkaError {
                if isShutdown { break }
                attempt += 1
                var immediate = false
                switch error.code {
                case .broker(27) where error.message.hasPrefix("SyncGroup"):
                    // A follower whose SyncGroup keeps timing out waits for a leader that never assigns; join
                    // again as a new member to shake the group loose.
                    followerSyncFailures += 1
                    immediate = true
                    if followerSyncFailures >= 3 {
                        // Tansu can keep naming a leader that already left (it left a formed group and the rest
                        // left before rejoining): nobody assigns, and every follower SyncGroup times out. A live
                        // leader would have synced by now, so leave and rejoin under the orphaned leader id, which
                        // makes this member the leader.
                        followerSyncFailures = 0
                        let orphan = state.withLock { $0.lastLeader }
                        await leaveGroup(groupID: groupID)
                        if !orphan.isEmpty {
                            logger.warning(
                                "group leader never assigned partitions; taking over its member id",
                                metadata: ["leader": "\(orphan)"])
                            state.withLock { $0.memberID = orphan }
                        }
                    }
                case .broker(27), .broker(22):
                    immediate = true
                case .broker(25):
                    state.withLock { $0.memberID = "" }
                    immediate = true
                case .broker(let code) where KafkaError.coordinatorCodes.contains(code):
                    state.withLock { $0.coordinator = nil }
                case .connectionClosed, .connectionFailed, .timeout, .protocolViolation:
                    state.withLock { $0.coordinator = nil }
                default:
                    break
                }
                state.withLock { $0.revoke() }
                notifyAll()
                logger.log(
                    level: attempt > 3 ? .warning : .debug, "consumer group join failed, retrying",
                    metadata: ["error": "\(error)"])
                if !immediate || attempt > 3 {
                    await sleepUnlessShutdown(configuration.client.retryBackoff * min(attempt, 20))
                }
            } catch {
                if isShutdown { break }
                logger.warning("consumer group join failed, retrying", metadata: ["error": "\(error)"])
                await sleepUnlessShutdown(configuration.client.retryBackoff)
            }
        }
        if state.withLock({ $0.leaveOnShutdown }) {
            await leaveGroup(groupID: groupID)
        }
    }

    private func leaveGroup(groupID: String) async {
        let (memberID, coordinator) = state.withLock { state in
            let snapshot = (state.memberID, state.coordinator)
            state.revoke()
            state.memberID = ""
            return snapshot
        }
        notifyAll()
        guard !memberID.isEmpty, let coordinator else { return }
        do {
            let response = try await cluster.send(
                LeaveGroupRequest(groupID: groupID, memberID: memberID), to: coordinator, role: .heartbeat,
                timeout: .seconds(5))
            logger.debug("left consumer group", metadata: ["member": "\(memberID)", "error": "\(response.errorCode)"])
        } catch {
            logger.debug("LeaveGroup failed", metadata: ["error": "\(error)"])
        }
    }

    func sleepUnlessShutdown(_ duration: Duration) async {
        let seen = control.version
        if isShutdown { return }
        await control.wait(after: seen, deadline: ContinuousClock.now.advanced(by: duration))
    }

    private func currentCoordinator(groupID: String) async throws -> KafkaBrokerAddress {
        if let known = state.withLock({ $0.coordinator }) { return known }
        let response = try await cluster.sendToAny(FindCoordinatorRequest(key: groupID), role: .metadata)
        guard response.errorCode == 0 else {
            throw KafkaError.broker(response.errorCode, "FindCoordinator", brokerMessage: response.errorMessage)
        }
        let address = KafkaBrokerAddress(host: response.host, port: Int(response.port))
        state.withLock { $0.coordinator = address }
        logger.debug("found group coordinator", metadata: ["coordinator": "\(address)"])
        return address
    }

    struct JoinResult {
        var generation: Int32
        var memberID: String
        var assignment: [KafkaTopicPartition]
        /// For the leader: the partition counts its assignment was computed from.
        var partitionCounts: [String: Int]?
    }

    static var metadataCheckInterval: Duration { .seconds(5) }

    /// Partition counts of `topics` from fresh metadata (0 for a topic that does not exist).
    func currentPartitionCounts(_ topics: [String]) async throws -> [String: Int] {
        try await cluster.refreshMetadata(topics: topics)
        let metadata = cluster.metadata
        var counts: [String: Int] = [:]
        for topic in topics { counts[topic] = metadata.topics[topic]?.partitionCount ?? 0 }
        return counts
    }

    private func joinAndSync(groupID: String, topics: [String], coordinator: KafkaBrokerAddress) async throws
        -> JoinResult
    {
        let epoch = state.withLock { $0.subscriptionEpoch }
        var userData: ByteBuffer?
        if epoch != 0 {
            var buffer = ByteBuffer()
            buffer.writeInteger(epoch)
            userData = buffer
        }
        let subscription = ConsumerProtocol.encodeSubscription(topics: topics, userData: userData)
        // Join/Sync block on the broker for up to the rebalance/session timeout.
        let longTimeout = max(configuration.client.requestTimeout, configuration.rebalanceTimeout + .seconds(5))
        var join: JoinGroupRequest.Response
        while true {
            state.withLock { $0.rejoinNeeded = false }
            let memberID = state.withLock { $0.memberID }
            let request = JoinGroupRequest(
                groupID: groupID, sessionTimeoutMs: configuration.sessionTimeout.kafkaMillis32,
                rebalanceTimeoutMs: configuration.rebalanceTimeout.kafkaMillis32, memberID: memberID,
                protocols: [(name: "range", metadata: subscription)])
            join = try await cluster.send(request, to: coordinator, role: .coordinator, timeout: longTimeout)
            if join.errorCode == 79 {
                // MEMBER_ID_REQUIRED: join again with the id the broker chose.
                state.withLock { $0.memberID = join.memberID }
                continue
            }
            guard join.errorCode == 0 else {
                throw KafkaError.broker(join.errorCode, "JoinGroup")
            }
            break
        }
        state.withLock {
            $0.memberID = join.memberID
            $0.generation = join.generationID
            $0.lastLeader = join.leader
        }
        var assignments: [(memberID: String, assignment: ByteBuffer)] = []
        var leaderCounts: [String: Int]?
        if join.leader == join.memberID {
            var subscriptions: [String: [String]] = [:]
            for member in join.members {
                subscriptions[member.memberID] = (try? ConsumerProtocol.decodeSubscription(member.metadata)) ?? []
            }
            let allTopics = Set(subscriptions.values.flatMap { $0 })
            let counts = try await currentPartitionCounts(Array(allTopics))
            leaderCounts = counts
            let plan = RangeAssignor.assign(subscriptions: subscriptions, partitionCounts: counts)
            assignments = plan.map { (memberID: $0.key, assignment: ConsumerProtocol.encodeAssignment($0.value)) }
            logger.debug(
                "leading consumer group", metadata: ["generation": "\(join.generationID)", "members": "\(join.members.count)"])
        }
        let sync = try await cluster.send(
            SyncGroupRequest(
                groupID: groupID, generationID: join.generationID, memberID: join.memberID,
                protocolName: join.protocolName ?? "range", assignments: assignments),
            to: coordinator, role: .coordinator, timeout: longTimeout)
        guard sync.errorCode == 0 else {
            throw KafkaError.broker(sync.errorCode, "SyncGroup")
        }
        let assigned = try ConsumerProtocol.decodeAssignment(sync.assignment)
        return JoinResult(
            generation: join.generationID, memberID: join.memberID, assignment: assigned, partitionCounts: leaderCounts)
    }

    /// Committed offsets, else the reset policy.
    private func initialPositions(
        groupID: String, assignment: [KafkaTopicPartition], coordinator: KafkaBrokerAddress
    ) async throws -> [KafkaTopicPartition: ConsumerState.Position] {
        guard !assignment.isEmpty else { return [:] }
        var byTopic: [String: [Int32]] = [:]
        for tp in assignment { byTopic[tp.topic, default: []].append(Int32(tp.partition)) }
        let response = try await cluster.send(
            OffsetFetchRequest(groupID: groupID, topics: byTopic.map { (name: $0.key, partitions: $0.value) }),
            to: coordinator, role: .commit)
        guard response.errorCode == 0 else { throw KafkaError.broker(response.errorCode, "OffsetFetch") }
        var positions: [KafkaTopicPartition: ConsumerState.Position] = [:]
        var missing: [KafkaTopicPartition] = []
        for topic in response.topics {
            for p in topic.partitions {
                let tp = KafkaTopicPartition(topic: topic.name, partition: Int(p.partition))
                if p.errorCode == 0 && p.committedOffset >= 0 {
                    positions[tp] = .known(p.committedOffset)
                }
            }
        }
        for tp in assignment where positions[tp] == nil { missing.append(tp) }
        if !missing.isEmpty {
            let start: KafkaStartOffset = configuration.autoOffsetReset == .earliest ? .earliest : .latest
            let resolved = try await resolveStartPositions(Dictionary(uniqueKeysWithValues: missing.map { ($0, start) }))
            positions.merge(resolved) { a, _ in a }
        }
        return positions
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

    /// Heartbeats every `heartbeatInterval` on their own connection while the member is stable; the answers start
    /// rebalances (27/22), resets (25) and coordinator look-ups (14/15/16).
    func runHeartbeats(groupID: String) async {
        var next = ContinuousClock.now.advanced(by: configuration.heartbeatInterval)
        while !isShutdown {
            let seen = control.version
            if ContinuousClock.now < next {
                await control.wait(after: seen, deadline: next)
                continue
            }
            next = ContinuousClock.now.advanced(by: configuration.heartbeatInterval)
            let (stable, generation, memberID, coordinator) = state.withLock {
                ($0.stable, $0.generation, $0.memberID, $0.coordinator)
            }
            guard stable, !memberID.isEmpty, let coordinator else { continue }
            do {
                let response = try await cluster.send(
                    HeartbeatRequest(groupID: groupID, generationID: generation, memberID: memberID),
                    to: coordinator, role: .heartbeat)
                switch response.errorCode {
                case 0: break
                case 27, 22:
                    requestRejoin(resetMember: false, reason: "heartbeat: \(KafkaError.brokerErrorName(response.errorCode))")
                case 25:
                    requestRejoin(resetMember: true, reason: "heartbeat: UNKNOWN_MEMBER_ID")
                case let code where KafkaError.coordinatorCodes.contains(code):
                    state.withLock { $0.coordinator = nil }
                    requestRejoin(resetMember: false, reason: "heartbeat: coordinator moved")
                default:
                    logger.warning("heartbeat failed", metadata: ["error": "\(KafkaError.brokerErrorName(response.errorCode))"])
                }
            } catch {
                if isShutdown { break }
                logger.debug("heartbeat failed", metadata: ["error": "\(error)"])
                if let e = error as? KafkaError, e.code == .connectionFailed || e.code == .connectionClosed {
                    // The broker may be gone; rediscover and rejoin once it is back.
                    state.withLock { $0.coordinator = nil }
                    requestRejoin(resetMember: false, reason: "heartbeat: \(e.code)")
                }
            }
        }
    }

    /// Manual assignment: resolve start positions (retrying until the broker answers), then fetch.
    func runManualAssignment(_ starts: [KafkaTopicPartition: KafkaStartOffset]) async {
        while !isShutdown {
            do {
                let positions = try await resolveStartPositions(starts)
                state.withLock { $0.install(assignment: Array(starts.keys), positions: positions, generation: -1) }
                notifyAll()
                return
            } catch {
                logger.debug("resolving start offsets failed, retrying", metadata: ["error": "\(error)"])
                await sleepUnlessShutdown(configuration.client.retryBackoff)
            }
        }
    }
}
