import Accounts
import EmoCore
import EmoStore
import EventLog
import Gateway
import Hummingbird
import Ingest
import Logging
import Node
import Processor
import Prometheus
import Publisher
import ServiceLifecycle
import Synchronization

/// The whole pipeline in one process on the embedded log: ingest → `emoji` → stream processor → `emoji-counts`
/// → main publisher → `publisher-emojis` → cluster nodes → viewers.
public struct EmoStreamSystem: Service {
    /// Where everything listens, once it does.
    public struct Endpoints: Sendable {
        public var api: String
        public var apiPort: Int
        public var nodes: [NodeDirectory.Entry]
    }

    public let configuration: SystemConfiguration
    public let registry: PrometheusCollectorRegistry
    let logger: Logger
    let readiness = ReadinessGate<Endpoints>()

    public init(configuration: SystemConfiguration, logger: Logger, registry: PrometheusCollectorRegistry = .init()) {
        self.configuration = configuration
        self.logger = logger
        self.registry = registry
    }

    /// Waits until every server listens.
    public func ready() async throws -> Endpoints {
        try await readiness.wait()
    }

    public func run() async throws {
        let metrics = PrometheusMetricsFactory(registry: registry)
        let stats = PipelineStats()
        let backend = try AccountsBackend(
            configuration: configuration.accounts, dataDirectory: configuration.dataDirectory, logger: logger)
        let (store, migration, signer) = (backend.store, backend.migration, backend.signer)
        let heartbeat = backend.heartbeat(logger: logger)
        var services: [any Service] = []
        let log: any EventLog
        if var kafka = configuration.kafka {
            kafka.reactionPartitions = configuration.partitions
            let kafkaLog = try await kafka.makeReadyLog(clientID: "emostream", logger: logger)
            services.append(kafkaLog)
            log = kafkaLog
        } else {
            let embedded = EmbeddedEventLog(configuration: .init(partitionCapacity: configuration.logPartitionCapacity))
            try await embedded.ensureTopic(Topics.reactions, partitions: configuration.partitions)
            try await embedded.ensureTopic(Topics.windowResults, partitions: 1)
            try await embedded.ensureTopic(Topics.bursts, partitions: 1)
            log = embedded
        }

        let directory = NodeDirectory()
        let pending = Mutex(configuration.nodes + 1)
        let host = configuration.advertisedHost
        let apiPort = Mutex(0)
        @Sendable func serverListening() {
            let remaining = pending.withLock { count -> Int in
                count -= 1
                return count
            }
            guard remaining == 0 else { return }
            let port = apiPort.withLock { $0 }
            let endpoints = Endpoints(api: "http://\(host):\(port)", apiPort: port, nodes: directory.nodes)
            logger.info("EmoStream ready: \(endpoints.api)")
            readiness.open(endpoints)
        }

        services += [store, migration, heartbeat]
        services.append(
            StreamProcessor(
                log: log, configuration: .init(window: configuration.window, name: "processor-1"), logger: logger,
                metrics: metrics))
        services.append(
            MainPublisher(
                log: log, configuration: .init(scaleDown: configuration.scaleDown), logger: logger, metrics: metrics,
                stats: stats))
        var hubs: [BurstHub] = []
        var admissions: [any ViewerAdmission] = []
        for index in 0..<configuration.nodes {
            let name = "node-\(index + 1)"
            let hub = BurstHub(
                configuration: .init(
                    node: name, ringCapacity: configuration.ringCapacity, viewerBuffer: configuration.viewerBuffer,
                    stallTimeout: configuration.stallTimeout),
                metrics: metrics)
            let nodeConfiguration = NodeServer.Configuration(
                name: name, host: configuration.host,
                port: configuration.nodeBasePort == 0 ? 0 : configuration.nodeBasePort + index,
                capacity: configuration.nodeCapacity)
            hubs.append(hub)
            services.append(BurstFeed(log: log, hub: hub, logger: logger))
            let admission = TicketAdmission(
                node: name, store: store, signer: signer, logger: logger, channels: backend.channels)
            admissions.append(admission)
            services.append(
                NodeServer.buildApplication(
                    configuration: nodeConfiguration, hub: hub, admission: admission,
                    registry: registry, logger: logger, beforeServerStarts: { try await migration.wait() },
                    onServerRunning: { port in
                        let entry = directory.register(
                            name: name, host: host, port: port, capacity: configuration.nodeCapacity, hub: hub)
                        do {
                            try await heartbeat.register(
                                name: name, wsURL: entry.wsURL, sseURL: entry.sseURL, capacity: entry.capacity)
                        } catch {
                            logger.error("could not register the node", metadata: ["node": "\(name)", "error": "\(error)"])
                        }
                        serverListening()
                    }))
        }
        let ingest = IngestController(
            log: log,
            configuration: .init(
                maxBodyBytes: configuration.maxBodyBytes, batch: .init(maxEvents: configuration.maxBatchEvents),
                userRate: configuration.userRate),
            metrics: metrics, stats: stats, channels: backend.channels)
        let activity = backend.channelActivity(log: log, registry: registry, logger: logger) { activity in
            activity.metricsTopChannels = configuration.metricsTopChannels
            activity.maxAge = configuration.channelListMaxAge
        }
        services.append(activity)
        let drainHubs = hubs
        let router = try backend.gatewayRouter(
            ingest: ingest, stats: stats, registry: registry, logger: logger,
            drain: { name in
                guard let hub = drainHubs.first(where: { $0.configuration.node == name }),
                    try await heartbeat.drain(name: name)
                else { return false }
                hub.closeAll()  // its viewers reconnect through /api/connect, to the other nodes
                return true
            }, activity: activity)
        services.append(backend.sweeper(logger: logger))
        services.append(
            GatewayServer.buildApplication(
                configuration: .init(host: configuration.host, port: configuration.port), router: router, logger: logger,
                beforeServerStarts: { try await migration.wait() },
                onServerRunning: { port in
                    apiPort.withLock { $0 = port }
                    serverListening()
                }))
        services.append(AbandonedViewerReaper(admissions: admissions))
        services.append(ViewerShutdown(hubs: hubs))

        let group = ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: [], cancellationSignals: [],
                logger: logger))
        do {
            try await withTaskCancellationOrGracefulShutdownHandler {
                try await group.run()
            } onCancelOrGracefulShutdown: {
                Task { await group.triggerGracefulShutdown() }
            }
        } catch {
            readiness.fail(error)
            throw error
        }
    }
}

/// A value that tasks wait for until it is set once (or fails).
public final class ReadinessGate<Value: Sendable>: Sendable {
    public init() {}
    private enum State {
        case waiting([CheckedContinuation<Value, any Error>])
        case ready(Value)
        case failed(any Error)
    }

    private let state = Mutex(State.waiting([]))

    public func wait() async throws -> Value {
        try await withCheckedThrowingContinuation { continuation in
            let result: Result<Value, any Error>? = state.withLock { state in
                switch state {
                case .waiting(var waiters):
                    waiters.append(continuation)
                    state = .waiting(waiters)
                    return nil
                case .ready(let value): return .success(value)
                case .failed(let error): return .failure(error)
                }
            }
            if let result { continuation.resume(with: result) }
        }
    }

    public func open(_ value: Value) { finish(.success(value)) }
    public func fail(_ error: any Error) { finish(.failure(error)) }

    private func finish(_ result: Result<Value, any Error>) {
        let waiters: [CheckedContinuation<Value, any Error>] = state.withLock { state in
            guard case .waiting(let waiters) = state else { return [] }
            switch result {
            case .success(let value): state = .ready(value)
            case .failure(let error): state = .failed(error)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume(with: result) }
    }
}
