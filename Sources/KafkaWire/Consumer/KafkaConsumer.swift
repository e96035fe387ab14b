import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A consumer: either a member of a consumer group (classic protocol, range assignor, eager rebalancing) or a
/// reader of manually assigned partitions. Pull-based: `run()` fetches into a bounded buffer that `poll` drains.
///
/// Group membership, heartbeats (on their own task and connection) and fetching happen inside `run()`; `poll`
/// only returns what was fetched. Offsets are committed explicitly with ``commit(_:)``.
public final class KafkaConsumer: Service, Sendable {
    let configuration: KafkaConsumerConfiguration
    let logger: Logger
    let cluster: KafkaCluster
    let state: Mutex<ConsumerState>
    /// Membership changes, rejoin requests, shutdown: wakes the group and heartbeat loops.
    let control = AsyncCondition()
    /// Buffer space or assignment changes: wakes the fetcher.
    let fetchWake = AsyncCondition()
    /// New messages or assignment changes: wakes pollers.
    let arrivals = AsyncCondition()

    public init(configuration: KafkaConsumerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.state = Mutex(ConsumerState(membership: GroupMembership(configuration: .init(configuration))))
        var logger = logger
        if case .group(let id, _) = configuration.subscription { logger[metadataKey: "group"] = "\(id)" }
        self.logger = logger
        self.cluster = KafkaCluster(configuration: configuration.client, logger: logger)
    }

    public var messages: KafkaConsumerMessages { KafkaConsumerMessages(consumer: self) }

    func notifyAll() {
        control.notifyAll()
        fetchWake.notifyAll()
        arrivals.notifyAll()
    }

    /// The id the cluster gave `topic` when it was created, as last seen in metadata (nil when unknown). A topic that
    /// was lost and created again (a broker that came back empty) has a new id and offsets that start over.
    public func topicID(of topic: String) -> String? {
        cluster.cachedTopicID(topic)
    }

    /// A dynamic member leaves its group (its partitions move at once); a static one stays until its session times
    /// out, so that a restart under the same instance id takes them back without a rebalance.
    public func triggerGracefulShutdown() {
        shutdown(leaveGroup: configuration.groupInstanceID == nil)
    }

    /// Stops like a killed process would: no LeaveGroup, connections just close. For tests.
    func simulateCrash() {
        shutdown(leaveGroup: false)
    }

    private func shutdown(leaveGroup: Bool) {
        let (changed, _) = state.withLock { $0.withMembership { $0.shutdown(leaveGroup: leaveGroup) } }
        if changed {
            logger.debug("consumer shutting down")
            notifyAll()
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.runFetcher() }
                switch self.configuration.subscription {
                case .group(let id, let topics):
                    group.addTask { await self.runGroup(id: id, topics: topics) }
                    group.addTask { await self.runHeartbeats(groupID: id) }
                case .partitions(let starts):
                    group.addTask { await self.runManualAssignment(starts) }
                }
                await group.waitForAll()
            }
        } onGracefulShutdown: {
            self.triggerGracefulShutdown()
        }
        triggerGracefulShutdown()
        await cluster.close()
        logger.debug("consumer stopped")
    }

    var isShutdown: Bool { state.withLock { $0.isShutdown } || Task.isCancelled }

    /// Returns buffered messages (at most `maxMessages`) at once, or waits up to `maxWait` for some; may return an
    /// empty batch (still with assignment and progress). Throws `.shutdown` once the consumer has stopped and its
    /// buffer is empty.
    public func poll(maxMessages: Int = 10_000, maxWait: Duration) async throws -> KafkaPollBatch {
        let deadline = ContinuousClock.now.advanced(by: maxWait)
        let resumeLevel = fetchResumeLevel
        while true {
            let seen = arrivals.version
            let (batch, shutdown, fenced, fetcherWaits) = state.withLock { state in
                let batch = state.poll(max: max(1, maxMessages))
                // The fetcher pauses above the resume level; wake it when this poll brought the buffer down to it.
                let fetcherWaits =
                    state.buffer.count + batch.messages.count > resumeLevel && state.buffer.count <= resumeLevel
                return (batch, state.isShutdown, state.membership.isFenced, fetcherWaits)
            }
            if fenced {
                throw KafkaError(
                    .fenced, "another consumer joined the group under group.instance.id \(configuration.groupInstanceID ?? "")",
                    isFatal: true)
            }
            if !batch.messages.isEmpty {
                if fetcherWaits { fetchWake.notifyAll() }
                return batch
            }
            if shutdown { throw KafkaError.shutdown("the consumer") }
            if ContinuousClock.now >= deadline { return batch }
            await arrivals.wait(after: seen, deadline: deadline)
            try Task.checkCancellation()
        }
    }

    /// Commits next-offset-to-read per partition with the current generation and member id, and with each offset
    /// the partition's `metadata` (a short string the group's next owner of the partition reads back from
    /// ``KafkaPollBatch/committedMetadata``; brokers bound it, 4 KB by default). Throws a retriable
    /// `.rebalanceInProgress` error when the group is rebalancing or a partition is not owned any more.
    public func commit(
        _ offsets: [KafkaTopicPartition: Int64], metadata: [KafkaTopicPartition: String] = [:]
    ) async throws {
        guard case .group(let groupID, _) = configuration.subscription else {
            throw KafkaError(.configuration, "commit needs a group subscription")
        }
        guard !offsets.isEmpty else { return }
        guard let context = state.withLock({ $0.membership.commitContext }) else {
            throw KafkaError(.rebalanceInProgress, "cannot commit while the group is rebalancing")
        }
        let notOwned = offsets.keys.filter { !context.assignment.contains($0) }
        guard notOwned.isEmpty else {
            throw KafkaError(
                .rebalanceInProgress, "cannot commit \(notOwned.sorted()): not assigned to this member any more")
        }
        var byTopic: [String: [(partition: Int32, offset: Int64, metadata: String?)]] = [:]
        for (tp, offset) in offsets {
            byTopic[tp.topic, default: []].append((Int32(tp.partition), offset, metadata[tp]))
        }
        let request = OffsetCommitRequest(
            groupID: groupID, generationID: context.generation, memberID: context.memberID,
            groupInstanceID: configuration.groupInstanceID, topics: byTopic.map { (name: $0.key, partitions: $0.value) })
        let response = try await cluster.send(request, to: context.coordinator, role: .commit)
        for topic in response.topics {
            for p in topic.partitions where p.errorCode != 0 {
                report(state.withLock { $0.withMembership { $0.commitFailed(p.errorCode, context: context) } })
                switch p.errorCode {
                case 22, 27:
                    throw KafkaError(.rebalanceInProgress, "commit rejected: the group is rebalancing (error \(p.errorCode))")
                case 25:
                    throw KafkaError(.rebalanceInProgress, "commit rejected: this member left the group (error 25)")
                default:
                    throw KafkaError.broker(p.errorCode, "commit to \(topic.name)-\(p.partition)")
                }
            }
        }
    }

    /// Logs a membership change from a heartbeat or commit and wakes the loops it concerns.
    func report(_ outcome: (GroupMembership.Change, assignmentChanged: Bool)) {
        if case .fenced = outcome.0 {
            logger.error(
                "fenced: another consumer joined the group under this group.instance.id; stopping",
                metadata: ["instance": "\(configuration.groupInstanceID ?? "")"])
            notifyAll()
        }
        if case .rebalance(let reason) = outcome.0 {
            logger.info("consumer group rebalance needed", metadata: ["reason": "\(reason)"])
            control.notifyAll()
        }
        if outcome.assignmentChanged { notifyAll() }
    }
}

/// The consumer's messages as an async sequence, built on `poll`; it ends when the consumer shuts down.
public struct KafkaConsumerMessages: AsyncSequence, Sendable {
    public typealias Element = KafkaConsumerMessage
    let consumer: KafkaConsumer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let consumer: KafkaConsumer
        var pending: [KafkaConsumerMessage] = []
        var index = 0

        public mutating func next() async throws -> KafkaConsumerMessage? {
            while index >= pending.count {
                do {
                    let batch = try await consumer.poll(maxMessages: 1000, maxWait: .seconds(1))
                    pending = batch.messages
                    index = 0
                } catch let error as KafkaError where error.code == .shutdown {
                    return nil
                }
            }
            defer { index += 1 }
            return pending[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(consumer: consumer)
    }
}
