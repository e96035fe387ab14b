import EmoCore

/// Everything `emostream up` can be told; the defaults start a working system with no flags.
public struct SystemConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// API (gateway) port; 0 picks a free port.
    public var port: Int = 8080
    public var nodes: Int = 3
    /// Node i listens on `nodeBasePort + i`; 0 gives every node a free port.
    public var nodeBasePort: Int = 8081
    public var nodeCapacity: Int = 10_000
    public var dataDirectory: String = "./.emostream"
    public var window: WindowSpec = WindowSpec(lengthMillis: 2000)
    public var scaleDown: ScaleDown = ScaleDown()
    /// Partitions of the `emoji` topic.
    public var partitions: Int = 8
    /// Records retained per partition of the embedded log before ingest is pushed back.
    public var logPartitionCapacity: Int = 262_144
    public var ringCapacity: Int = 64
    public var viewerBuffer: Int = 16
    public var stallTimeout: Duration = .seconds(10)
    public var maxBodyBytes: Int = 1 << 20
    public var maxBatchEvents: Int = 10_000
    /// Reactions per second one `user_id` may send (bursts of twice that); nil: unlimited.
    public var userRate: Double? = 20
    /// Channels with their own `channel` label in `/metrics` (the busiest); the rest are `channel="other"`.
    public var metricsTopChannels: Int = 10
    /// How long `GET /api/channels` reuses a computed list.
    public var channelListMaxAge: Duration = .seconds(1)

    public var accounts = AccountsConfiguration()
    /// Run the pipeline on this Kafka cluster instead of the embedded log.
    public var kafka: KafkaSettings?

    public init() {}

    /// The host put in URLs handed to viewers (a wildcard bind address is not reachable as such).
    public var advertisedHost: String {
        host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host
    }
}
