import Accounts
import EmoStore
import Foundation
import EventLog
import Gateway
import Ingest
import Logging
import Node
import Prometheus
import ServiceLifecycle

/// Settings shared by the fleet roles (`emostream gateway`, `emostream node`).
public struct FleetConfiguration: Sendable {
    public var host: String = "127.0.0.1"
    /// The host put in the URLs handed to viewers; defaults to `host` (or 127.0.0.1 for a wildcard address).
    public var publicHost: String?
    public var port: Int = 8080
    public var dataDirectory: String = "./.emostream"
    public var accounts = AccountsConfiguration()
    /// The Kafka cluster that carries reactions and bursts between the fleet's processes; nil: a gateway accepts no
    /// reactions and a node has no bursts to send (placement only).
    public var kafka: KafkaSettings?
    /// Ingest limits of a gateway that accepts reactions (with `kafka`).
    public var ingest = IngestController.Configuration()

    public init() {}

    var advertisedHost: String {
        publicHost ?? (host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host)
    }
}

/// `emostream gateway`: accounts, login and placement over a shared store, for a fleet of separately running
/// nodes; with Kafka it also accepts reactions (`POST /api/emojis`), like `emostream ingest`.
public struct FleetGateway: Service {
    let configuration: FleetConfiguration
    let logger: Logger
    let registry = PrometheusCollectorRegistry()

    public init(configuration: FleetConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let backend = try AccountsBackend(
            configuration: configuration.accounts, dataDirectory: configuration.dataDirectory, logger: logger)
        let migration = backend.migration
        var services: [any Service] = []
        var ingest: IngestController?
        var burstLog: (any EventLog)?
        if let kafka = configuration.kafka {
            let log = try await kafka.makeReadyLog(clientID: "emostream-gateway", logger: logger)
            services.append(log)
            burstLog = log
            ingest = IngestController(
                log: log,
                configuration: configuration.ingest, metrics: PrometheusMetricsFactory(registry: registry), channels: backend.channels)
        }
        // Reactions per second per channel, from the bursts (none without Kafka).
        let activity = backend.channelActivity(log: burstLog, registry: registry, logger: logger)
        let router = try backend.gatewayRouter(
            ingest: ingest, stats: nil, registry: registry, logger: logger, activity: activity)
        let host = configuration.advertisedHost
        let logger = logger
        let gateway = GatewayServer.buildApplication(
            configuration: .init(host: configuration.host, port: configuration.port), router: router, logger: logger,
            beforeServerStarts: { try await migration.wait() },
            onServerRunning: { port in logger.info("EmoStream gateway ready: http://\(host):\(port)") })
        let group = ServiceGroup(
            configuration: .init(
                services: (services + [backend.store, migration, activity, backend.sweeper(logger: logger), gateway])
                    .map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `emostream node`: one cluster node that registers itself in the shared store, heartbeats, admits viewers by
/// ticket and, with Kafka, sends them every burst of `publisher-emojis`.
public struct FleetNode: Service {
    let configuration: FleetConfiguration
    let name: String
    let capacity: Int
    let logger: Logger
    let registry = PrometheusCollectorRegistry()

    public init(configuration: FleetConfiguration, name: String, capacity: Int, logger: Logger) {
        self.configuration = configuration
        self.name = name
        self.capacity = capacity
        self.logger = logger
    }

    public func run() async throws {
        let backend = try AccountsBackend(
            configuration: configuration.accounts, dataDirectory: configuration.dataDirectory, logger: logger)
        let (store, migration, signer) = (backend.store, backend.migration, backend.signer)
        let heartbeat = backend.heartbeat(logger: logger)
        let hub = BurstHub(configuration: .init(node: name), metrics: PrometheusMetricsFactory(registry: registry))
        let host = configuration.advertisedHost
        let name = name
        let capacity = capacity
        let logger = logger
        let admission = TicketAdmission(node: name, store: store, signer: signer, logger: logger, channels: backend.channels)
        let server = NodeServer.buildApplication(
            configuration: .init(name: name, host: configuration.host, port: configuration.port, capacity: capacity), hub: hub,
            admission: admission, registry: registry,
            logger: logger, beforeServerStarts: { try await migration.wait() },
            onServerRunning: { port in
                do {
                    try await heartbeat.register(
                        name: name, wsURL: "ws://\(host):\(port)/ws", sseURL: "http://\(host):\(port)/events", capacity: capacity)
                    logger.info("EmoStream node ready: http://\(host):\(port)", metadata: ["node": "\(name)"])
                } catch {
                    logger.error("could not register the node", metadata: ["node": "\(name)", "error": "\(error)"])
                }
            })
        var services: [any Service] = []
        if let kafka = configuration.kafka {
            let log = try await kafka.makeReadyLog(clientID: name, logger: logger)
            services += [log, BurstFeed(log: log, hub: hub, logger: logger)]
        }
        services += [store, migration, heartbeat, server, AbandonedViewerReaper(admissions: [admission]), ViewerShutdown(hubs: [hub])]
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
