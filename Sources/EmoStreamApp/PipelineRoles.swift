import EmoCore
import EmoHTTP
import EmoStore
import Hummingbird
import Ingest
import KafkaLog
import Logging
import NIOCore
import Processor
import Prometheus
import Publisher
import ServiceLifecycle

/// Settings of the pipeline roles that run as their own processes over Kafka: `emostream ingest`, `processor`
/// and `publisher`.
public struct PipelineRoleConfiguration: Sendable {
    public var kafka: KafkaSettings
    public var host: String = "127.0.0.1"
    public var port: Int = 8090
    public var window: WindowSpec = WindowSpec(lengthMillis: 2000)
    public var scaleDown: ScaleDown = ScaleDown()
    /// Limits of `emostream ingest`.
    public var ingest = IngestController.Configuration()
    /// The shared store holding the channel registry (ingest registers channels on first use, or with
    /// `channelsClosed` accepts only registered ones); nil: any valid channel name, nothing registered.
    public var databaseURL: String?
    public var channelsClosed: Bool = false

    public init(kafka: KafkaSettings) {
        self.kafka = kafka
    }
}

/// Runs `services` after the log (which the group stops last) until SIGTERM or SIGINT.
func runRole(log: KafkaEventLog, _ services: [any Service], logger: Logger) async throws {
    let group = ServiceGroup(
        configuration: .init(
            services: ([log] + services).map { .init(service: $0) }, gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger))
    try await group.run()
}

/// `emostream ingest`: accepts reactions (`POST /api/emojis`) and produces them to the `emoji` topic.
public struct IngestRole: Service {
    let configuration: PipelineRoleConfiguration
    let logger: Logger
    let registry = PrometheusCollectorRegistry()

    public init(configuration: PipelineRoleConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let log = try await configuration.kafka.makeReadyLog(clientID: "emostream-ingest", logger: logger)
        var services: [any Service] = []
        var channels: ChannelRegistry?
        var migration: StoreMigration?
        if let databaseURL = configuration.databaseURL {
            let store = try StoreFactory.make(databaseURL: databaseURL, dataDirectory: ".", logger: logger)
            migration = StoreMigration(store: store)
            channels = ChannelRegistry(store: store, configuration: .init(closed: configuration.channelsClosed))
            services += [store, migration!]
        }
        let ingest = IngestController(
            log: log,
            configuration: configuration.ingest, metrics: PrometheusMetricsFactory(registry: registry), channels: channels)
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        ingest.addRoutes(to: router)
        let registry = registry
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok"]) }
        router.get("/metrics") { _, _ in metricsResponse(registry) }
        let host = configuration.host == "0.0.0.0" || configuration.host == "::" ? "127.0.0.1" : configuration.host
        let logger = logger
        var server = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emostream"),
            onServerRunning: { channel in
                logger.info("EmoStream ingest ready: http://\(host):\(channel.localAddress?.port ?? 0)")
            },
            logger: logger)
        server.beforeServerStarts { [migration] in try await migration?.wait() }
        try await runRole(log: log, services + [server], logger: logger)
    }
}

/// `emostream processor`: one stream processor of the group that shares the `emoji` partitions.
public struct ProcessorRole: Service {
    let configuration: PipelineRoleConfiguration
    let name: String
    let logger: Logger

    public init(configuration: PipelineRoleConfiguration, name: String, logger: Logger) {
        self.configuration = configuration
        self.name = name
        self.logger = logger
    }

    public func run() async throws {
        let log = try await configuration.kafka.makeReadyLog(clientID: name, logger: logger)
        let processor = StreamProcessor(
            log: log, configuration: .init(window: configuration.window, name: name), logger: logger,
            metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        logger.info("EmoStream processor ready: \(name)")
        try await runRole(log: log, [processor], logger: logger)
    }
}

/// `emostream publisher`: the main publisher, which orders window results into bursts.
public struct PublisherRole: Service {
    let configuration: PipelineRoleConfiguration
    let logger: Logger

    public init(configuration: PipelineRoleConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let log = try await configuration.kafka.makeReadyLog(clientID: "emostream-publisher", logger: logger)
        let publisher = MainPublisher(
            log: log, configuration: .init(scaleDown: configuration.scaleDown), logger: logger,
            metrics: PrometheusMetricsFactory(registry: PrometheusCollectorRegistry()))
        logger.info("EmoStream publisher ready")
        try await runRole(log: log, [publisher], logger: logger)
    }
}
