import EmoCore
import EmoHTTP
import Gateway
import Ingest
import Node
import PipelineTopics
import Processor
import Publisher

/// Everything a process of EmoStream can be told, composed of the components' own configurations: each default is
/// written once, in the component that uses it, and the defaults start a working `emostream up` with no flags.
/// Every command fills in the parts it runs (`emostream help`, and the README's configuration table, list the flags).
public struct EmoStreamConfiguration: Sendable {
    /// Address the servers listen on.
    public var host: String = "127.0.0.1"
    /// The host put in the URLs handed to viewers; nil: `host` (or 127.0.0.1 for a wildcard address).
    public var publicHost: String?
    /// Where the process keeps its files: the SQLite store and the generated signing secret.
    public var dataDirectory: String = "./.emostream"

    public var log = EventLogConfiguration()
    public var store = StoreConfiguration()
    public var ingest = IngestController.Configuration()
    public var processor = StreamProcessor.Configuration()
    public var publisher = MainPublisher.Configuration()
    public var gateway = APIGateway.Configuration()
    public var nodes = NodesConfiguration()
    /// Every HTTP listener's connection cap and rate, header and body timeouts.
    public var listener = ListenerLimits()
    /// Port of `/healthz` and `/metrics` of a processor or publisher process; nil: none.
    public var metricsPort: Int?
    /// TLS of every HTTP listener of the process (API, ingest, nodes, metrics); nil: plain HTTP.
    public var tls: TLSSettings?

    public init() {}

    /// The host put in URLs handed to viewers (a wildcard bind address is not reachable as such).
    public var advertisedHost: String {
        publicHost ?? (host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host)
    }

    /// A node silent this long gets no viewers and loses its sessions; the gateway's placement, the sweeper and the
    /// nodes' heartbeat interval follow it.
    public var nodeTTL: Duration {
        get { gateway.nodeTTL }
        set {
            gateway.nodeTTL = newValue
            store.heartbeatInterval = min(.seconds(2), newValue / 3)
        }
    }
}

/// Where the pipeline's topics live.
public struct EventLogConfiguration: Sendable {
    /// Partitions of the `emoji` topic (the processors share them).
    public var partitions: Int = PipelineTopics.defaultReactionPartitions
    /// Records retained per partition of the embedded log before ingest is pushed back.
    public var embeddedPartitionCapacity: Int = 262_144
    /// Run the pipeline on this Kafka cluster instead of the embedded log.
    public var kafka: KafkaSettings?

    public init() {}
}

/// The store of accounts, sessions, nodes and channels, and the token signer.
public struct StoreConfiguration: Sendable {
    /// `postgres://…` for a shared PostgreSQL store; nil keeps everything in SQLite under the data directory.
    public var databaseURL: String?
    /// Token-signing secret; nil generates one and keeps it in the data directory.
    public var secret: String?
    /// Only channels registered with `emostream channels add` accept reactions and viewers; otherwise a channel
    /// is created when first used.
    public var channelsClosed: Bool = false
    /// How often nodes renew their liveness (a third of the node TTL, at most 2 s).
    public var heartbeatInterval: Duration = .seconds(2)

    public init() {}
}

/// The cluster nodes of `emostream up` (one of them for `emostream node`).
public struct NodesConfiguration: Sendable {
    public var count: Int = 3
    /// Node i listens on `basePort + i`; 0 gives every node a free port.
    public var basePort: Int = 8081
    /// Viewers each node accepts.
    public var capacity: Int = NodeServer.Configuration.defaultCapacity
    /// Replay ring, viewer buffer and stall timeout of every node's hub (its name is the node's).
    public var hub = BurstHub.Configuration(node: "")

    public init() {}

    /// Node `index`'s configuration (0-based): `node-1`, `node-2`, …
    public func node(
        _ index: Int, host: String, advertisedHost: String, limits: ListenerLimits = ListenerLimits(),
        tls: TLSSettings? = nil
    ) -> ClusterNode.Configuration {
        let name = "node-\(index + 1)"
        return node(
            named: name, host: host, port: basePort == 0 ? 0 : basePort + index, advertisedHost: advertisedHost,
            limits: limits, tls: tls)
    }

    public func node(
        named name: String, host: String, port: Int, advertisedHost: String, limits: ListenerLimits = ListenerLimits(),
        tls: TLSSettings? = nil
    ) -> ClusterNode.Configuration {
        var hub = self.hub
        hub.node = name
        var server = NodeServer.Configuration(name: name, host: host, port: port, capacity: capacity, tls: tls)
        server.limits = limits
        return ClusterNode.Configuration(server: server, hub: hub, advertisedHost: advertisedHost)
    }
}
