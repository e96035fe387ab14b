import EmoHTTP
import EmoStore
import EventLog
import Gateway
import Ingest
import Logging
import Node
import Processor
import Prometheus
import Publisher
import ServiceLifecycle

/// The processes of a fleet, each one component's builder plus the infrastructure it needs: `emostream ingest`,
/// `processor`, `publisher`, `node` and `gateway`. Each returns the process's services in start order, for one flat
/// group (``run(_:logger:)``).
public enum ProcessRoles {
    /// `emostream ingest`: `POST /api/emojis` produced to the `emoji` topic on Kafka. With a database URL it keeps the
    /// channel registry (channels registered on first use, or only registered ones accepted).
    public static func ingest(
        _ configuration: EmoStreamConfiguration, server: IngestServer.Configuration, logger: Logger
    ) async throws -> [any Service] {
        let registry = PrometheusCollectorRegistry()
        let pipeline = try await configuration.log.makeLog(clientID: "emostream-ingest", logger: logger)
        var services = pipeline.services
        var channels: ChannelRegistry?
        var beforeServerStarts: @Sendable () async throws -> Void = {}
        if let databaseURL = configuration.store.databaseURL {
            let store = try StoreFactory.make(databaseURL: databaseURL, dataDirectory: ".", logger: logger)
            let migration = StoreMigration(store: store)
            channels = ChannelRegistry(store: store, configuration: .init(closed: configuration.store.channelsClosed))
            services += [store, migration]
            beforeServerStarts = { try await migration.wait() }
        }
        let controller = IngestController(
            log: pipeline.log, configuration: configuration.ingest, metrics: PrometheusMetricsFactory(registry: registry),
            channels: channels, logger: logger)
        var server = server
        server.host = configuration.host
        server.limits = configuration.listener
        server.tls = configuration.tls
        let host = configuration.advertisedHost
        let scheme = configuration.tls.httpScheme
        services.append(
            IngestServer.buildApplication(
                configuration: server, controller: controller, registry: registry, logger: logger,
                beforeServerStarts: beforeServerStarts,
                onServerRunning: { port in logger.info("EmoStream ingest ready: \(scheme)://\(host):\(port)") }))
        return services
    }

    /// `emostream processor`: one stream processor of the group that shares the `emoji` partitions.
    public static func processor(_ configuration: EmoStreamConfiguration, logger: Logger) async throws -> [any Service] {
        let registry = PrometheusCollectorRegistry()
        let name = configuration.processor.name
        let pipeline = try await configuration.log.makeLog(clientID: name, logger: logger)
        let processor = StreamProcessor(
            log: pipeline.log, configuration: configuration.processor, logger: logger,
            metrics: PrometheusMetricsFactory(registry: registry))
        logger.info("EmoStream processor ready: \(name)")
        return pipeline.services + [processor] + operations(configuration, role: "processor", registry: registry, logger: logger, log: pipeline.log)
    }

    /// `emostream publisher`: the main publisher, which orders window results into bursts.
    public static func publisher(_ configuration: EmoStreamConfiguration, logger: Logger) async throws -> [any Service] {
        let registry = PrometheusCollectorRegistry()
        let pipeline = try await configuration.log.makeLog(clientID: "emostream-publisher", logger: logger)
        let publisher = MainPublisher(
            log: pipeline.log, configuration: configuration.publisher, logger: logger,
            metrics: PrometheusMetricsFactory(registry: registry))
        logger.info("EmoStream publisher ready")
        return pipeline.services + [publisher] + operations(configuration, role: "publisher", registry: registry, logger: logger, log: pipeline.log)
    }

    /// `emostream node`: one cluster node that registers itself in the shared store, heartbeats, admits viewers by
    /// ticket and, with Kafka, sends them every burst of `publisher-emojis`.
    public static func node(
        _ configuration: EmoStreamConfiguration, name: String, port: Int, logger: Logger
    ) async throws -> [any Service] {
        let infrastructure = try StoreInfrastructure(
            configuration: configuration.store, dataDirectory: configuration.dataDirectory, logger: logger)
        var services: [any Service] = []
        var log: PipelineLog?
        if configuration.log.kafka != nil {
            log = try await configuration.log.makeLog(clientID: name, logger: logger)
            services += log!.services
        }
        let heartbeat = NodeHeartbeat(
            store: infrastructure.store, interval: configuration.store.heartbeatInterval, logger: logger)
        let node = ClusterNode(
            configuration: configuration.nodes.node(
                named: name, host: configuration.host, port: port, advertisedHost: configuration.advertisedHost,
                limits: configuration.listener, tls: configuration.tls),
            dependencies: .init(
                log: log?.log, store: infrastructure.store, signer: infrastructure.signer, channels: infrastructure.channels,
                heartbeat: heartbeat, registry: PrometheusCollectorRegistry(), logger: logger,
                beforeServerStarts: infrastructure.waitForSchema,
                onListening: { listening in
                    logger.info(
                        "EmoStream node ready: \(configuration.tls.httpScheme)://\(configuration.advertisedHost):\(listening.port)",
                        metadata: ["node": "\(name)"])
                }))
        return services + infrastructure.services + [heartbeat] + node.services
    }

    /// `emostream gateway`: accounts, login and placement over a shared store, for a fleet of separately running
    /// nodes; with Kafka it also accepts reactions (`POST /api/emojis`), like `emostream ingest`.
    public static func gateway(_ configuration: EmoStreamConfiguration, logger: Logger) async throws -> [any Service] {
        let registry = PrometheusCollectorRegistry()
        let infrastructure = try StoreInfrastructure(
            configuration: configuration.store, dataDirectory: configuration.dataDirectory, logger: logger)
        var services: [any Service] = []
        var ingest: IngestController?
        var pipeline: PipelineLog?
        if configuration.log.kafka != nil {
            let log = try await configuration.log.makeLog(clientID: "emostream-gateway", logger: logger)
            services += log.services
            pipeline = log
            ingest = IngestController(
                log: log.log, configuration: configuration.ingest, metrics: PrometheusMetricsFactory(registry: registry),
                channels: infrastructure.channels, logger: logger)
        }
        var gatewayConfiguration = configuration.gateway
        gatewayConfiguration.server.host = configuration.host
        gatewayConfiguration.server.limits = configuration.listener
        gatewayConfiguration.server.tls = configuration.tls
        let host = configuration.advertisedHost
        let scheme = configuration.tls.httpScheme
        let gateway = try APIGateway(
            configuration: gatewayConfiguration,
            dependencies: .init(
                store: infrastructure.store, signer: infrastructure.signer, channels: infrastructure.channels,
                registry: registry, logger: logger, ingest: ingest, log: pipeline?.log,
                beforeServerStarts: infrastructure.waitForSchema,
                onServerRunning: { port in logger.info("EmoStream gateway ready: \(scheme)://\(host):\(port)") }))
        return services + infrastructure.services + gateway.services
    }

    /// Runs `services` as one flat group until SIGTERM or SIGINT (then stops them in reverse order).
    public static func run(_ services: [any Service], logger: Logger) async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }

    /// `/healthz` and `/metrics` of a worker process on `--metrics-port` (none without it).
    static func operations(
        _ configuration: EmoStreamConfiguration, role: String, registry: PrometheusCollectorRegistry, logger: Logger,
        log: any EventLog
    ) -> [any Service] {
        guard let port = configuration.metricsPort else { return [] }
        let host = configuration.advertisedHost
        let scheme = configuration.tls.httpScheme
        return [
            OperationsServer.buildApplication(
                configuration: .init(host: configuration.host, port: port, limits: configuration.listener, tls: configuration.tls), role: role, registry: registry, logger: logger,
                logProblem: { await log.health().problem },
                onServerRunning: { port in logger.info("EmoStream \(role) metrics: \(scheme)://\(host):\(port)/metrics") })
        ]
    }
}
