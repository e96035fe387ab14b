import EventLog
import KafkaLog
import KafkaWire
import Logging
import PipelineTopics

/// Where and how the pipeline uses Kafka (`--kafka host:port[,host:port]`); nil in a configuration keeps the
/// embedded log.
public struct KafkaSettings: Sendable {
    public var brokers: [KafkaBrokerAddress]
    public static let defaultReactionLinger = KafkaEventLog.Configuration.defaultReactionLinger

    /// Partitions of `emoji` when this process creates it (processors share them).
    public var reactionPartitions: Int = PipelineTopics.defaultReactionPartitions
    /// How long ingest batches reactions per partition before producing them.
    public var reactionLinger: Duration = KafkaSettings.defaultReactionLinger
    /// How far processors keep their watermark behind the partitions' progress (must exceed the linger); nil: the
    /// linger plus ``KafkaEventLog/Configuration/latenessMargin``.
    public var lateness: Duration?
    /// Put before every topic and consumer-group name (several systems, or tests, on one cluster).
    public var namePrefix: String = ""
    public static let defaultDeliveryTimeout = KafkaEventLog.Configuration.defaultDeliveryTimeout
    /// How long a producer waits for the broker's acknowledgement before failing the append (ingest's 503).
    public var deliveryTimeout: Duration = KafkaSettings.defaultDeliveryTimeout
    public static let defaultSessionTimeout = KafkaEventLog.Configuration.defaultSessionTimeout
    /// How long the broker waits for a silent consumer-group member before giving its partitions to another.
    public var sessionTimeout: Duration = KafkaSettings.defaultSessionTimeout

    public init(brokers: [KafkaBrokerAddress]) {
        self.brokers = brokers
    }

    /// Parses `host:port[,host:port…]`.
    public init(brokerList: String) throws {
        self.init(brokers: try KafkaBrokerAddress.parseList(brokerList))
    }

    /// ``lateness``, or the one that goes with the linger.
    public var effectiveLateness: Duration {
        lateness ?? KafkaEventLog.Configuration.lateness(forLinger: reactionLinger)
    }

    /// The pipeline's topics and the partition counts they are created with.
    public var topics: [TopicSpec] {
        PipelineTopics.specs(reactionPartitions: reactionPartitions)
    }

    public func makeLog(clientID: String, logger: Logger) -> KafkaEventLog {
        var configuration = KafkaEventLog.Configuration(brokers: brokers, clientID: clientID, namePrefix: namePrefix)
        configuration.reactionLinger = reactionLinger
        configuration.lateness = effectiveLateness
        configuration.deliveryTimeout = deliveryTimeout
        configuration.sessionTimeout = sessionTimeout
        return KafkaEventLog(configuration: configuration, logger: logger)
    }

    /// A log whose pipeline topics exist (see ``ensureTopics(on:logger:timeout:)``).
    public func makeReadyLog(clientID: String, logger: Logger) async throws -> KafkaEventLog {
        let log = makeLog(clientID: clientID, logger: logger)
        try await ensureTopics(on: log, logger: logger)
        return log
    }

    /// Creates the pipeline's topics that are missing, retrying while the cluster is not reachable yet (a fleet's
    /// processes may start before the brokers).
    public func ensureTopics(on log: KafkaEventLog, logger: Logger, timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                let counts = try await log.ensureTopics(topics)
                logger.info(
                    "Kafka topics ready",
                    metadata: ["topics": "\(topics.map { "\($0.name)=\(counts[$0.name] ?? $0.partitions)" }.joined(separator: ","))"])
                return
            } catch {
                guard ContinuousClock.now < deadline else { throw error }
                logger.warning("Kafka not reachable yet; retrying", metadata: ["brokers": "\(brokers)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
