import Accounts
import EmoCore
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
import Synchronization
import UnixSignals

/// `emostream up`: the whole pipeline in one process, as the sum of the components' builders — ingest → `emoji` →
/// stream processor → `emoji-counts` → main publisher → `publisher-emojis` → cluster nodes → viewers — on the
/// embedded log (or a Kafka cluster), run as one flat `ServiceGroup`.
public struct EmoStreamSystem: Sendable {
    /// Where everything listens, once it does.
    public struct Endpoints: Sendable {
        public var api: String
        public var apiPort: Int
        public var nodes: [NodeDirectory.Entry]
    }

    public let configuration: EmoStreamConfiguration
    public let registry: PrometheusCollectorRegistry
    /// In start order: infrastructure, then workers, then servers (a group stops them in reverse).
    public let services: [any Service]
    let readiness: ReadinessGate<Endpoints>

    /// Waits until every server listens.
    public func ready() async throws -> Endpoints {
        try await readiness.wait()
    }

    /// One flat group of ``services``.
    public func serviceGroup(gracefulShutdownSignals: [UnixSignal] = [], logger: Logger) -> ServiceGroup {
        ServiceGroup(
            configuration: .init(
                services: services.map { .init(service: $0) }, gracefulShutdownSignals: gracefulShutdownSignals,
                logger: logger))
    }

    /// Runs `group` (from ``serviceGroup(gracefulShutdownSignals:logger:)``); a failure also fails ``ready()``.
    public func run(_ group: ServiceGroup) async throws {
        do {
            try await group.run()
        } catch {
            readiness.fail(error)
            throw error
        }
    }

    public static func build(
        configuration: EmoStreamConfiguration, logger: Logger, registry: PrometheusCollectorRegistry = .init()
    ) async throws -> EmoStreamSystem {
        let metrics = PrometheusMetricsFactory(registry: registry)
        let stats = PipelineStats()
        let readiness = ReadinessGate<Endpoints>()
        let infrastructure = try StoreInfrastructure(
            configuration: configuration.store, dataDirectory: configuration.dataDirectory, logger: logger)
        let pipeline = try await configuration.log.makeLog(clientID: "emostream", logger: logger)
        let log = pipeline.log
        let heartbeat = NodeHeartbeat(
            store: infrastructure.store, interval: configuration.store.heartbeatInterval, logger: logger)

        // Ready once the API and every node listen.
        let directory = NodeDirectory()
        let pending = Mutex(configuration.nodes.count + 1)
        let apiPort = Mutex(0)
        let host = configuration.advertisedHost
        @Sendable func serverListening() {
            let remaining = pending.withLock { count -> Int in
                count -= 1
                return count
            }
            guard remaining == 0 else { return }
            let port = apiPort.withLock { $0 }
            let endpoints = Endpoints(
                api: "\(configuration.tls.httpScheme)://\(host):\(port)", apiPort: port, nodes: directory.nodes)
            logger.info("EmoStream ready: \(endpoints.api)")
            readiness.open(endpoints)
        }

        var services: [any Service] = pipeline.services + infrastructure.services + [heartbeat]
        services.append(StreamProcessor(log: log, configuration: configuration.processor, logger: logger, metrics: metrics))
        services.append(
            MainPublisher(log: log, configuration: configuration.publisher, logger: logger, metrics: metrics, stats: stats))
        var hubs: [BurstHub] = []
        for index in 0..<configuration.nodes.count {
            let node = ClusterNode(
                configuration: configuration.nodes.node(index, host: configuration.host, advertisedHost: host, limits: configuration.listener, tls: configuration.tls),
                dependencies: .init(
                    log: log, store: infrastructure.store, signer: infrastructure.signer, channels: infrastructure.channels,
                    heartbeat: heartbeat, registry: registry, logger: logger,
                    beforeServerStarts: infrastructure.waitForSchema,
                    onListening: { listening in
                        directory.register(
                            name: listening.name, host: host, port: listening.port, capacity: listening.capacity,
                            hub: listening.hub)
                        serverListening()
                    }))
            hubs.append(node.hub)
            services += node.services
        }
        let ingest = IngestController(
            log: log, configuration: configuration.ingest, metrics: metrics, stats: stats, channels: infrastructure.channels,
            logger: logger)
        var gatewayConfiguration = configuration.gateway
        gatewayConfiguration.server.host = configuration.host
        gatewayConfiguration.server.limits = configuration.listener
        gatewayConfiguration.server.tls = configuration.tls
        let gateway = try APIGateway(
            configuration: gatewayConfiguration,
            dependencies: .init(
                store: infrastructure.store, signer: infrastructure.signer, channels: infrastructure.channels,
                registry: registry, logger: logger, ingest: ingest, log: log, stats: stats,
                drain: { [hubs] name in
                    guard let hub = hubs.first(where: { $0.configuration.node == name }),
                        try await heartbeat.drain(name: name)
                    else { return false }
                    hub.closeAll()  // its viewers reconnect through /api/connect, to the other nodes
                    return true
                },
                beforeServerStarts: infrastructure.waitForSchema,
                onServerRunning: { port in
                    apiPort.withLock { $0 = port }
                    serverListening()
                }))
        services += gateway.services
        return EmoStreamSystem(
            configuration: configuration, registry: registry, services: services, readiness: readiness)
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
