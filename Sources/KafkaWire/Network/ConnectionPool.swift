import Logging
import NIOCore

/// Connections keyed by (broker address, role). Tansu serves one request at a time per connection, so each role
/// (metadata, produce, fetch, group coordination, heartbeats, commits) gets its own connection to a broker.
actor ConnectionPool {
    enum Role: String, Hashable, Sendable {
        case metadata, produce, fetch, coordinator, heartbeat, commit, admin
    }

    private struct Key: Hashable {
        var address: KafkaBrokerAddress
        var role: Role
    }

    private let configuration: KafkaClientConfiguration
    private let logger: Logger
    private var connections: [Key: BrokerConnection] = [:]
    private var connecting: [Key: Task<BrokerConnection, any Error>] = [:]
    private var closed = false

    init(configuration: KafkaClientConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// A live connection for `role` to `address`, connecting when needed.
    func connection(to address: KafkaBrokerAddress, role: Role) async throws -> BrokerConnection {
        guard !closed else { throw KafkaError.shutdown("the Kafka client") }
        let key = Key(address: address, role: role)
        if let existing = connections[key] {
            if existing.isActive { return existing }
            connections[key] = nil
        }
        if let task = connecting[key] {
            return try await task.value
        }
        let configuration = self.configuration
        var logger = self.logger
        logger[metadataKey: "role"] = "\(role.rawValue)"
        let task = Task {
            try await BrokerConnection.connect(to: address, configuration: configuration, logger: logger)
        }
        connecting[key] = task
        defer { connecting[key] = nil }
        let connection = try await task.value
        if closed {
            connection.close()
            throw KafkaError.shutdown("the Kafka client")
        }
        connections[key] = connection
        return connection
    }

    /// Drops (and closes) the connection after a failure so the next request reconnects.
    func invalidate(_ connection: BrokerConnection) {
        for (key, value) in connections where value === connection {
            connections[key] = nil
        }
        connection.close()
    }

    func closeAll() {
        closed = true
        for connection in connections.values { connection.close() }
        connections = [:]
        for task in connecting.values { task.cancel() }
    }
}
