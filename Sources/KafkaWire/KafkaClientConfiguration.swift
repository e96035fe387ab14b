/// Settings shared by the admin client, producer and consumer.
public struct KafkaClientConfiguration: Sendable {
    public var bootstrapServers: [KafkaBrokerAddress]
    /// Sent in every request header; also the prefix of group member ids.
    public var clientID: String
    /// How long a request may wait for its response before it fails with `.timeout` (and its connection is closed).
    public var requestTimeout: Duration
    /// How long a TCP connect may take.
    public var connectTimeout: Duration
    /// Pause before retrying after a retriable failure (reconnects, metadata refreshes, produce retries).
    public var retryBackoff: Duration

    public init(bootstrapServers: [KafkaBrokerAddress], clientID: String = "kafkawire") {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.requestTimeout = .seconds(30)
        self.connectTimeout = .seconds(10)
        self.retryBackoff = .milliseconds(100)
    }
}

extension Duration {
    /// Whole milliseconds, clamped to Int32 (for protocol fields).
    var kafkaMillis32: Int32 {
        let ms = kafkaMillis
        return Int32(clamping: ms)
    }

    var kafkaMillis: Int64 {
        let (seconds, attoseconds) = components
        return seconds &* 1000 &+ attoseconds / 1_000_000_000_000_000
    }
}
