import EventLog
import KafkaLog
import Logging
import PipelineTopics
import ServiceLifecycle

/// A process's event log with the pipeline's topics created, and the service that runs it (Kafka's producers),
/// which goes first in the process's services so that it stops last.
public struct PipelineLog: Sendable {
    public let log: any EventLog
    public let services: [any Service]
}

extension EventLogConfiguration {
    /// The embedded log, or a client of the Kafka cluster; either way every pipeline topic exists when this returns.
    public func makeLog(clientID: String, logger: Logger) async throws -> PipelineLog {
        if var kafka {
            kafka.reactionPartitions = partitions
            let log = try await kafka.makeReadyLog(clientID: clientID, logger: logger)
            return PipelineLog(log: log, services: [log])
        }
        let embedded = EmbeddedEventLog(configuration: .init(partitionCapacity: embeddedPartitionCapacity))
        for spec in PipelineTopics.specs(reactionPartitions: partitions) {
            try await embedded.ensureTopic(spec)
        }
        return PipelineLog(log: embedded, services: [])
    }
}
