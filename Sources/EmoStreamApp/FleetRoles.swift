import Accounts
import EmoStore
import Foundation
import Gateway
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
    public var databaseURL: String?
    public var secret: String?
    public var tokenLifetime: Duration = .seconds(12 * 3600)
    public var ticketLifetime: Duration = .seconds(30)
    public var nodeTTL: Duration = .seconds(10)
    public var heartbeatInterval: Duration = .seconds(2)
    public var bcryptCost: UInt8 = 10

    public init() {}

    var advertisedHost: String {
        publicHost ?? (host == "0.0.0.0" || host == "::" || host.isEmpty ? "127.0.0.1" : host)
    }
}

/// `emostream gateway`: accounts, login and placement over a shared store, for a fleet of separately running
/// nodes. (Reactions reach a fleet's nodes through Kafka, which this build does not have yet, so a gateway
/// process does not accept reactions.)
public struct FleetGateway: Service {
    let configuration: FleetConfiguration
    let logger: Logger
    let registry = PrometheusCollectorRegistry()

    public init(configuration: FleetConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let store = try StoreFactory.make(
            databaseURL: configuration.databaseURL, dataDirectory: configuration.dataDirectory, logger: logger)
        let migration = StoreMigration(store: store)
        let signer = TokenSigner(
            secret: try SigningSecret.load(configured: configuration.secret, dataDirectory: configuration.dataDirectory))
        var placementConfiguration = PlacementController.Configuration()
        placementConfiguration.ticketLifetime = configuration.ticketLifetime
        placementConfiguration.nodeTTL = configuration.nodeTTL
        let router = GatewayServer.buildRouter(
            ingest: nil,
            accounts: AccountsController(
                store: store, hasher: PasswordHasher(cost: configuration.bcryptCost), signer: signer,
                tokenLifetime: configuration.tokenLifetime, logger: logger),
            placement: PlacementController(store: store, signer: signer, configuration: placementConfiguration, logger: logger),
            store: store, nodeTTL: configuration.nodeTTL, registry: registry)
        let host = configuration.advertisedHost
        let logger = logger
        let gateway = GatewayServer.buildApplication(
            configuration: .init(host: configuration.host, port: configuration.port), router: router, logger: logger,
            beforeServerStarts: { try await migration.wait() },
            onServerRunning: { port in logger.info("EmoStream gateway ready: http://\(host):\(port)") })
        let group = ServiceGroup(
            configuration: .init(
                services: ([store, migration, SessionSweeper(store: store, nodeTTL: configuration.nodeTTL, logger: logger), gateway]
                    as [any Service]).map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// `emostream node`: one cluster node that registers itself in the shared store, heartbeats, and admits viewers
/// by ticket.
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
        let store = try StoreFactory.make(
            databaseURL: configuration.databaseURL, dataDirectory: configuration.dataDirectory, logger: logger)
        let migration = StoreMigration(store: store)
        let signer = TokenSigner(
            secret: try SigningSecret.load(configured: configuration.secret, dataDirectory: configuration.dataDirectory))
        let heartbeat = NodeHeartbeat(store: store, interval: configuration.heartbeatInterval, logger: logger)
        let hub = BurstHub(configuration: .init(node: name), metrics: PrometheusMetricsFactory(registry: registry))
        let host = configuration.advertisedHost
        let name = name
        let capacity = capacity
        let logger = logger
        let server = NodeServer.buildApplication(
            configuration: .init(name: name, host: configuration.host, port: configuration.port, capacity: capacity), hub: hub,
            admission: TicketAdmission(node: name, store: store, signer: signer, logger: logger), registry: registry,
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
        let group = ServiceGroup(
            configuration: .init(
                services: ([store, migration, heartbeat, server, ViewerShutdown(hubs: [hub])] as [any Service])
                    .map { .init(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
