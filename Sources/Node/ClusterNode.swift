import Accounts
import EmoStore
import EventLog
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// How one cluster node becomes services: its hub, the feed that fills the hub from the bursts topic, the viewer
/// server, and the timers that free abandoned admissions and close viewers on shutdown. `emostream up` builds
/// several in one process, `emostream node` one.
public struct ClusterNode: Sendable {
    public struct Configuration: Sendable {
        public var server: NodeServer.Configuration
        public var hub: BurstHub.Configuration
        /// The host put in the URLs handed to viewers.
        public var advertisedHost: String

        public init(server: NodeServer.Configuration, hub: BurstHub.Configuration, advertisedHost: String) {
            self.server = server
            self.hub = hub
            self.advertisedHost = advertisedHost
        }

        public var name: String { server.name }
    }

    /// What a node uses from its process.
    public struct Dependencies: Sendable {
        /// Where the bursts are; nil: a node that only admits viewers (placement without a pipeline).
        public var log: (any EventLog)?
        public var store: any PlacementStore
        public var signer: TokenSigner
        public var channels: ChannelRegistry?
        /// Registers the node once it listens and keeps it live.
        public var heartbeat: NodeHeartbeat
        public var registry: PrometheusCollectorRegistry
        public var logger: Logger
        /// Runs before the server listens (e.g. waiting for the store's schema).
        public var beforeServerStarts: @Sendable () async throws -> Void
        /// Called once the node listens and is registered.
        public var onListening: @Sendable (Listening) async -> Void

        public init(
            log: (any EventLog)?, store: any PlacementStore, signer: TokenSigner, channels: ChannelRegistry?,
            heartbeat: NodeHeartbeat, registry: PrometheusCollectorRegistry, logger: Logger,
            beforeServerStarts: @escaping @Sendable () async throws -> Void = {},
            onListening: @escaping @Sendable (Listening) async -> Void = { _ in }
        ) {
            self.log = log
            self.store = store
            self.signer = signer
            self.channels = channels
            self.heartbeat = heartbeat
            self.registry = registry
            self.logger = logger
            self.beforeServerStarts = beforeServerStarts
            self.onListening = onListening
        }
    }

    /// Where a node listens, once it does.
    public struct Listening: Sendable {
        public var name: String
        public var port: Int
        public var wsURL: String
        public var sseURL: String
        public var capacity: Int
        public var hub: BurstHub
    }

    public let configuration: Configuration
    public let hub: BurstHub
    public let admission: TicketAdmission
    /// In start order: the feed, the server, then what must stop first (viewers closed before the server stops).
    public let services: [any Service]

    public init(configuration: Configuration, dependencies: Dependencies) {
        self.configuration = configuration
        let metrics = PrometheusMetricsFactory(registry: dependencies.registry)
        let hub = BurstHub(configuration: configuration.hub, metrics: metrics)
        let admission = TicketAdmission(
            node: configuration.name, store: dependencies.store, signer: dependencies.signer, logger: dependencies.logger,
            channels: dependencies.channels)
        let (name, host, capacity) = (configuration.name, configuration.advertisedHost, configuration.server.capacity)
        let (ws, http) = (configuration.server.tls.webSocketScheme, configuration.server.tls.httpScheme)
        let (heartbeat, logger, onListening) = (dependencies.heartbeat, dependencies.logger, dependencies.onListening)
        let server = NodeServer.buildApplication(
            configuration: configuration.server, hub: hub, admission: admission, registry: dependencies.registry,
            logger: logger, beforeServerStarts: dependencies.beforeServerStarts,
            onServerRunning: { port in
                let listening = Listening(
                    name: name, port: port, wsURL: "\(ws)://\(host):\(port)/ws", sseURL: "\(http)://\(host):\(port)/events",
                    capacity: capacity, hub: hub)
                do {
                    try await heartbeat.register(
                        name: name, wsURL: listening.wsURL, sseURL: listening.sseURL, capacity: capacity)
                } catch {
                    logger.error("could not register the node", metadata: ["node": "\(name)", "error": "\(error)"])
                }
                await onListening(listening)
            })
        var services: [any Service] = []
        if let log = dependencies.log {
            services.append(BurstFeed(log: log, hub: hub, logger: logger, metrics: metrics))
        }
        services += [server, AbandonedViewerReaper(admissions: [admission]), ViewerShutdown(hubs: [hub], beforeClosing: { [name = configuration.name] in await heartbeat.leave(name: name) })]
        self.hub = hub
        self.admission = admission
        self.services = services
    }
}
