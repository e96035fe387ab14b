import Logging
import NIOCore
import Synchronization

/// What a client knows about the cluster: brokers, partition leaders and partition counts, refreshed on demand.
struct ClusterMetadata: Sendable {
    struct TopicInfo: Sendable {
        /// Leader node per partition index (-1 when unknown).
        var leaders: [Int32]
        /// The topic's id ("" when the broker has none): changes when the topic is deleted and created again.
        var id: String = ""
        var partitionCount: Int { leaders.count }
    }

    var brokers: [Int32: KafkaBrokerAddress] = [:]
    var topics: [String: TopicInfo] = [:]

    func leaderAddress(_ tp: KafkaTopicPartition) -> (node: Int32, address: KafkaBrokerAddress)? {
        guard let info = topics[tp.topic], tp.partition < info.leaders.count else { return nil }
        let node = info.leaders[tp.partition]
        guard node >= 0, let address = brokers[node] else { return nil }
        return (node, address)
    }
}

/// Shared plumbing of the admin client, producer and consumer: the connection pool, bootstrap, metadata cache and
/// request helpers with retry on connection failures.
final class KafkaCluster: Sendable {
    let configuration: KafkaClientConfiguration
    let logger: Logger
    let pool: ConnectionPool
    private let state: Mutex<ClusterMetadata>
    private let bootstrapIndex = Atomic<Int>(0)

    init(configuration: KafkaClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        self.pool = ConnectionPool(configuration: configuration, logger: logger)
        self.state = Mutex(ClusterMetadata())
    }

    var metadata: ClusterMetadata { state.withLock { $0 } }

    func close() async {
        await pool.closeAll()
    }

    /// Any broker: the bootstrap servers and the brokers learnt from metadata, in turn (rotating on failures).
    func anyBrokerAddress() throws -> KafkaBrokerAddress {
        guard !configuration.bootstrapServers.isEmpty else {
            throw KafkaError(.configuration, "no bootstrap servers configured")
        }
        var candidates = configuration.bootstrapServers
        let known = state.withLock { $0.brokers.sorted { $0.key < $1.key }.map(\.value) }
        for address in known where !candidates.contains(address) { candidates.append(address) }
        let index = bootstrapIndex.load(ordering: .relaxed)
        return candidates[index % candidates.count]
    }

    private func rotateBootstrap() {
        bootstrapIndex.add(1, ordering: .relaxed)
    }

    /// Sends to a specific broker on a role connection; a connection failure invalidates that connection.
    func send<R: KafkaRequest>(
        _ request: R, to address: KafkaBrokerAddress, role: ConnectionPool.Role, timeout: Duration? = nil
    ) async throws -> R.Response {
        let connection = try await pool.connection(to: address, role: role)
        do {
            return try await connection.send(request, timeout: timeout)
        } catch let error as KafkaError {
            switch error.code {
            case .connectionClosed, .connectionFailed, .timeout, .protocolViolation:
                await pool.invalidate(connection)
            default: break
            }
            throw error
        }
    }

    /// Sends to any broker (bootstrap servers in turn), retrying connection failures with backoff for up to
    /// `attempts` tries.
    func sendToAny<R: KafkaRequest>(
        _ request: R, role: ConnectionPool.Role = .metadata, attempts: Int = 3
    ) async throws -> R.Response {
        var lastError: (any Error)?
        for attempt in 0..<max(1, attempts) {
            if attempt > 0 { try await Task.sleep(for: configuration.retryBackoff) }
            let address = try anyBrokerAddress()
            do {
                return try await send(request, to: address, role: role)
            } catch let error as KafkaError where error.isRetriable {
                lastError = error
                rotateBootstrap()
                logger.debug(
                    "request failed, retrying",
                    metadata: ["api": "\(R.apiKey)", "broker": "\(address)", "error": "\(error)"])
            }
        }
        throw lastError ?? KafkaError(.connectionFailed, "no broker reachable")
    }

    /// Fetches metadata for `topics` (nil = all) and merges it into the cache.
    @discardableResult
    func refreshMetadata(topics: [String]?) async throws -> MetadataRequest.Response {
        let response = try await sendToAny(MetadataRequest(topics: topics))
        state.withLock { meta in
            for broker in response.brokers {
                meta.brokers[broker.nodeID] = KafkaBrokerAddress(host: broker.host, port: Int(broker.port))
            }
            for topic in response.topics {
                guard let name = topic.name else { continue }
                guard topic.errorCode == 0, !topic.partitions.isEmpty else {
                    if topic.errorCode == 3 { meta.topics[name] = nil }
                    continue
                }
                var leaders = [Int32](repeating: -1, count: topic.partitions.count)
                for p in topic.partitions where p.partition >= 0 && Int(p.partition) < leaders.count {
                    leaders[Int(p.partition)] = p.errorCode == 0 || p.errorCode == 9 ? p.leader : -1
                }
                meta.topics[name] = ClusterMetadata.TopicInfo(leaders: leaders, id: topic.id)
            }
        }
        return response
    }

    /// The cached id of `topic` (nil when unknown or the broker gives none).
    func cachedTopicID(_ topic: String) -> String? {
        state.withLock { $0.topics[topic]?.id }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Partition count from the cache, refreshing once when the topic is unknown; throws
    /// UNKNOWN_TOPIC_OR_PARTITION when the broker does not know it.
    func partitionCount(of topic: String, refresh: Bool = false) async throws -> Int {
        if !refresh, let info = state.withLock({ $0.topics[topic] }) { return info.partitionCount }
        let response = try await refreshMetadata(topics: [topic])
        if let t = response.topics.first(where: { $0.name == topic }), t.errorCode != 0 {
            throw KafkaError.broker(t.errorCode, "metadata for topic \"\(topic)\"")
        }
        guard let info = state.withLock({ $0.topics[topic] }) else {
            throw KafkaError.broker(3, "topic \"\(topic)\" does not exist")
        }
        return info.partitionCount
    }

    /// The leader of `tp`, refreshing metadata when unknown.
    func leader(of tp: KafkaTopicPartition) async throws -> KafkaBrokerAddress {
        if let found = state.withLock({ $0.leaderAddress(tp) }) { return found.address }
        try await refreshMetadata(topics: [tp.topic])
        guard let found = state.withLock({ $0.leaderAddress(tp) }) else {
            throw KafkaError.broker(5, "no leader known for \(tp)")
        }
        return found.address
    }
}
