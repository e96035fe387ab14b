import Logging
import NIOCore

/// Topic administration: create (idempotently), list, count partitions.
public final class KafkaAdminClient: Sendable {
    let cluster: KafkaCluster
    let logger: Logger

    public init(configuration: KafkaClientConfiguration, logger: Logger) {
        self.cluster = KafkaCluster(configuration: configuration, logger: logger)
        self.logger = logger
    }

    /// CreateTopics; TOPIC_ALREADY_EXISTS counts as success. Returns the partition count each topic has now.
    public func ensureTopics(
        _ topics: [(name: String, partitions: Int)], replicationFactor: Int = -1
    ) async throws -> [String: Int] {
        try await ensureTopics(topics.map { KafkaTopicDefinition(name: $0.name, partitions: $0.partitions) }, replicationFactor: replicationFactor)
    }

    /// CreateTopics with each topic's configuration (`message.timestamp.type`, …); TOPIC_ALREADY_EXISTS counts as
    /// success (an existing topic keeps its configuration). Returns the partition count each topic has now.
    public func ensureTopics(
        _ topics: [KafkaTopicDefinition], replicationFactor: Int = -1
    ) async throws -> [String: Int] {
        guard !topics.isEmpty else { return [:] }
        for t in topics where t.name.isEmpty || t.partitions <= 0 {
            throw KafkaError(.configuration, "topic \"\(t.name)\" needs a name and at least one partition")
        }
        let request = CreateTopicsRequest(
            topics: topics.map { ($0.name, Int32($0.partitions), Int16(replicationFactor), $0.configs) },
            timeoutMs: cluster.configuration.requestTimeout.kafkaMillis32)
        let response = try await cluster.sendToAny(request, role: .admin)
        for result in response.topics where result.errorCode != 0 && result.errorCode != 36 {
            throw KafkaError.broker(
                result.errorCode, "cannot create topic \"\(result.name)\"", brokerMessage: result.errorMessage)
        }
        for result in response.topics where result.errorCode == 0 {
            logger.info("created Kafka topic", metadata: ["topic": "\(result.name)", "partitions": "\(result.numPartitions)"])
        }
        let names = topics.map(\.name)
        let metadata = try await cluster.refreshMetadata(topics: names)
        var counts: [String: Int] = [:]
        for topic in metadata.topics {
            guard let name = topic.name, names.contains(name) else { continue }
            if topic.errorCode != 0 {
                throw KafkaError.broker(topic.errorCode, "metadata for topic \"\(name)\" after creating it")
            }
            counts[name] = topic.partitions.count
        }
        for name in names where counts[name] == nil {
            throw KafkaError.broker(3, "topic \"\(name)\" missing from metadata after creating it")
        }
        return counts
    }

    /// All topics with their partition counts.
    public func listTopics() async throws -> [String: Int] {
        let metadata = try await cluster.refreshMetadata(topics: nil)
        var result: [String: Int] = [:]
        for topic in metadata.topics where topic.errorCode == 0 {
            if let name = topic.name { result[name] = topic.partitions.count }
        }
        return result
    }

    /// Partition count of `topic`; throws a KafkaError (UNKNOWN_TOPIC_OR_PARTITION) for an unknown topic.
    public func partitionCount(of topic: String) async throws -> Int {
        try await cluster.partitionCount(of: topic, refresh: true)
    }

    public func close() async {
        await cluster.close()
    }
}

/// A topic to create: its name, partitions and topic-level configuration entries.
public struct KafkaTopicDefinition: Sendable {
    public var name: String
    public var partitions: Int
    public var configs: [(String, String)]

    public init(name: String, partitions: Int, configs: [(String, String)] = []) {
        self.name = name
        self.partitions = partitions
        self.configs = configs
    }
}
