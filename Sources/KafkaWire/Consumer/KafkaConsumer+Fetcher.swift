import Logging
import NIOCore

extension KafkaConsumer {
    /// Fetching resumes when the buffer is down to this many records (hysteresis: each fetch then has room for at
    /// least half the bound, so little fetched data is dropped for lack of room).
    var fetchResumeLevel: Int { configuration.maxBufferedRecords / 2 }

    private struct FetchPlan {
        var epoch: UInt64
        /// Request max bytes sized to the buffer's room (from the average record size seen so far).
        var maxBytes: Int
        var partitions: [(tp: KafkaTopicPartition, position: ConsumerState.Position)]
    }

    /// Fetches for the assigned partitions on dedicated connections (one per leader), while the buffer has room.
    func runFetcher() async {
        var failures = 0
        while !isShutdown {
            let seen = fetchWake.version
            let plan = state.withLock { state -> FetchPlan? in
                guard state.installed, state.buffer.count <= fetchResumeLevel else { return nil }
                let partitions = state.assignment.compactMap { tp -> (tp: KafkaTopicPartition, position: ConsumerState.Position)? in
                    guard let position = state.fetchPositions[tp] else { return nil }
                    return (tp, position)
                }
                let room = configuration.maxBufferedRecords - state.buffer.count
                var maxBytes = configuration.fetchMaxBytes
                if state.averageRecordBytes > 0 {
                    let estimate = Int(Double(room) * state.averageRecordBytes * 1.1)
                    maxBytes = min(configuration.fetchMaxBytes, max(64 * 1024, estimate))
                }
                return partitions.isEmpty
                    ? nil : FetchPlan(epoch: state.epoch, maxBytes: maxBytes, partitions: partitions)
            }
            guard let plan else {
                await fetchWake.wait(after: seen)
                continue
            }
            do {
                try await fetchOnce(plan)
                failures = 0
            } catch {
                if isShutdown { break }
                failures += 1
                logger.log(
                    level: failures > 5 ? .warning : .debug, "fetch failed, retrying", metadata: ["error": "\(error)"])
                _ = try? await cluster.refreshMetadata(topics: Array(Set(plan.partitions.map(\.tp.topic))))
                await sleepUnlessShutdown(configuration.client.retryBackoff * min(failures, 10))
            }
        }
    }

    private func fetchOnce(_ plan: FetchPlan) async throws {
        // Positions needing a ListOffsets look-up (after OFFSET_OUT_OF_RANGE) first.
        let resets = plan.partitions.filter { $0.position == .needsReset }.map(\.tp)
        if !resets.isEmpty {
            let start: KafkaStartOffset = configuration.autoOffsetReset == .earliest ? .earliest : .latest
            let resolved = try await resolveStartPositions(Dictionary(uniqueKeysWithValues: resets.map { ($0, start) }))
            state.withLock { state in
                guard state.epoch == plan.epoch else { return }
                for (tp, position) in resolved where state.fetchPositions[tp] == .needsReset {
                    state.fetchPositions[tp] = position
                    if case .known(let offset) = position { state.pollPositions[tp] = offset }
                }
            }
            return
        }
        let metadata = cluster.metadata
        var perLeader: [KafkaBrokerAddress: [(tp: KafkaTopicPartition, offset: Int64)]] = [:]
        var unknownLeader = false
        for (tp, position) in plan.partitions {
            let offset: Int64
            switch position {
            case .known(let o): offset = o
            case .resolveLatest(let probe), .resolveTail(_, let probe): offset = probe
            case .needsReset: continue
            }
            guard let leader = metadata.leaderAddress(tp) else {
                unknownLeader = true
                continue
            }
            perLeader[leader.address, default: []].append((tp, offset))
        }
        if unknownLeader {
            try await cluster.refreshMetadata(topics: Array(Set(plan.partitions.map(\.tp.topic))))
        }
        guard !perLeader.isEmpty else {
            if unknownLeader { throw KafkaError.broker(5, "no leader known for the assigned partitions") }
            return
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (leader, partitions) in perLeader {
                group.addTask {
                    try await self.fetch(from: leader, partitions: partitions, epoch: plan.epoch, maxBytes: plan.maxBytes)
                }
            }
            try await group.waitForAll()
        }
    }

    private func fetch(
        from leader: KafkaBrokerAddress, partitions: [(tp: KafkaTopicPartition, offset: Int64)], epoch: UInt64,
        maxBytes: Int
    ) async throws {
        var byTopic: [String: [FetchRequest.PartitionRequest]] = [:]
        let partitionMax = Int32(clamping: maxBytes)
        for (tp, offset) in partitions {
            byTopic[tp.topic, default: []].append(
                .init(partition: Int32(tp.partition), fetchOffset: offset, partitionMaxBytes: partitionMax))
        }
        let request = FetchRequest(
            maxWaitMs: configuration.fetchMaxWait.kafkaMillis32, minBytes: 1,
            maxBytes: Int32(clamping: maxBytes),
            topics: byTopic.map { (name: $0.key, partitions: $0.value) })
        let timeout = configuration.client.requestTimeout + configuration.fetchMaxWait
        let response = try await cluster.send(request, to: leader, role: .fetch, timeout: timeout)
        let fetchedAt = currentTimeMillis()
        if response.errorCode != 0 {
            throw KafkaError.broker(response.errorCode, "Fetch from \(leader)")
        }
        let sentOffsets = Dictionary(uniqueKeysWithValues: partitions.map { ($0.tp, $0.offset) })
        var staleMetadata = false
        var decodeError: KafkaError?
        // Decode outside the lock; apply under it if nothing moved meanwhile.
        var decoded: [KafkaTopicPartition: (FetchRequest.PartitionResponse, RecordBatch.Decoded?)] = [:]
        var sampledBytes = 0
        var sampledRecords = 0
        for topic in response.topics {
            for p in topic.partitions {
                let tp = KafkaTopicPartition(topic: topic.name, partition: Int(p.partition))
                guard let sent = sentOffsets[tp] else { continue }
                if p.errorCode != 0 {
                    decoded[tp] = (p, nil)
                    if KafkaError.staleMetadataCodes.contains(p.errorCode) { staleMetadata = true }
                    continue
                }
                if let records = p.records, records.readableBytes > 0 {
                    do {
                        let result = try RecordBatch.decode(records, fetchOffset: sent)
                        if !result.records.isEmpty {
                            sampledBytes += records.readableBytes
                            sampledRecords += result.records.count
                        }
                        decoded[tp] = (p, result)
                    } catch let error as KafkaError {
                        decodeError = error
                        decoded[tp] = (p, nil)
                    }
                } else {
                    decoded[tp] = (p, RecordBatch.Decoded(records: [], nextOffset: nil))
                }
            }
        }
        var resets: [(KafkaTopicPartition, Int64, Int64)] = []
        state.withLock { state in
            guard state.epoch == epoch, state.installed else { return }
            if sampledRecords > 0 {
                let sample = Double(sampledBytes) / Double(sampledRecords)
                state.averageRecordBytes =
                    state.averageRecordBytes > 0 ? state.averageRecordBytes * 0.7 + sample * 0.3 : sample
            }
            var room = max(0, configuration.maxBufferedRecords - state.buffer.count)
            for (tp, (p, result)) in decoded {
                guard let sent = sentOffsets[tp], let current = state.fetchPositions[tp] else { continue }
                if p.errorCode == 1 {
                    state.fetchPositions[tp] = .needsReset
                    continue
                }
                guard p.errorCode == 0 else { continue }
                state.progress[tp] = .init(highWatermark: p.highWatermark, fetchedAtMillis: fetchedAt)
                switch current {
                case .resolveLatest(let probe) where probe == sent:
                    state.fetchPositions[tp] = .known(p.highWatermark)
                    state.pollPositions[tp] = p.highWatermark
                    continue
                case .resolveTail(let n, let probe) where probe == sent:
                    let start = max(max(0, p.logStartOffset), p.highWatermark - Int64(n))
                    state.fetchPositions[tp] = .known(start)
                    state.pollPositions[tp] = start
                    continue
                case .known(let position) where position == sent:
                    let logStart = p.logStartOffset
                    if position > p.highWatermark || (logStart >= 0 && position < logStart) {
                        // Out of range (Tansu never says so): apply the reset policy.
                        let reset =
                            configuration.autoOffsetReset == .earliest ? max(0, logStart) : p.highWatermark
                        state.fetchPositions[tp] = .known(reset)
                        state.pollPositions[tp] = reset
                        state.bufferedPerPartition[tp] = nil
                        resets.append((tp, position, reset))
                        continue
                    }
                    guard let result else { continue }
                    // Keep the buffer within maxBufferedRecords: take what fits, re-fetch the rest later.
                    let accepted = result.records.prefix(room)
                    room -= accepted.count
                    for record in accepted {
                        state.buffer.append(
                            KafkaConsumerMessage(
                                topic: tp.topic, partition: tp.partition, offset: record.offset, key: record.key,
                                value: record.value, headers: record.headers, timestamp: record.timestamp))
                    }
                    if !accepted.isEmpty {
                        state.bufferedPerPartition[tp, default: 0] += accepted.count
                    }
                    let next: Int64?
                    if accepted.count < result.records.count {
                        next = accepted.last.map { $0.offset + 1 }
                    } else {
                        next = result.nextOffset
                    }
                    if let next, next > position {
                        state.fetchPositions[tp] = .known(next)
                        if (state.bufferedPerPartition[tp] ?? 0) == 0 { state.pollPositions[tp] = next }
                    }
                default:
                    continue  // the position moved while this fetch was in flight
                }
            }
        }
        for (tp, from, to) in resets {
            logger.info(
                "position out of range, reset", metadata: ["partition": "\(tp)", "from": "\(from)", "to": "\(to)"])
        }
        arrivals.notifyAll()  // new messages, or at least fresh progress
        if staleMetadata || !resets.isEmpty {
            try await cluster.refreshMetadata(topics: Array(Set(partitions.map(\.tp.topic))))
        }
        if let decodeError { throw decodeError }
    }
}
