import Accounts
import EmoHTTP
import EmoCore
import EmoStore
import EmoWeb
import EventLog
import Ingest
import Logging
import Prometheus
import ServiceLifecycle

/// How the gateway becomes services: accounts, login, placement, the operator API, the web app and, where the
/// process accepts reactions, ingest, behind one HTTP server; beside it the channel activity (from the bursts)
/// and the sweeper that frees expired sessions. `emostream up` and `emostream gateway` both build it.
public struct APIGateway: Sendable {
    public struct Configuration: Sendable {
        public var server = GatewayServer.Configuration()
        public var placement = PlacementController.Configuration()
        public var activity = ChannelActivity.Configuration()
        /// Lifetime of login tokens.
        public var tokenLifetime: Duration = .seconds(12 * 3600)
        public var bcryptCost: UInt8 = 10
        /// The operator password of `/admin`; nil disables the admin page and API.
        public var adminPassword: String?
        /// Failed logins per name and per client address before `429 login_throttled`.
        public var loginThrottle = LoginThrottle.Configuration()
        /// How the gateway probes the live nodes, to stop placing on one it cannot reach before its TTL runs out.
        public var nodeProbe = NodeProber.Configuration()

        public init() {}

        /// A node silent this long gets no viewers (placement, channel figures and the sweeper agree on it).
        public var nodeTTL: Duration {
            get { placement.nodeTTL }
            set {
                placement.nodeTTL = newValue
                activity.nodeTTL = newValue
            }
        }
    }

    public struct Dependencies: Sendable {
        public var store: any AccountStore & PlacementStore
        public var signer: TokenSigner
        public var channels: ChannelRegistry?
        public var registry: PrometheusCollectorRegistry
        public var logger: Logger
        /// Accepts reactions (`POST /api/emojis`); nil: this gateway does not.
        public var ingest: IngestController?
        /// Where the bursts are, for reactions per second per channel; nil: those are 0.
        public var log: (any EventLog)?
        /// The process's pipeline totals for the operator page, where the pipeline runs in this process.
        public var stats: PipelineStats?
        /// Drains a node of this process; nil where nodes run elsewhere.
        public var drain: (@Sendable (String) async throws -> Bool)?
        public var beforeServerStarts: @Sendable () async throws -> Void
        public var onServerRunning: @Sendable (Int) async -> Void

        public init(
            store: any AccountStore & PlacementStore, signer: TokenSigner, channels: ChannelRegistry?, registry: PrometheusCollectorRegistry,
            logger: Logger, ingest: IngestController? = nil, log: (any EventLog)? = nil, stats: PipelineStats? = nil,
            drain: (@Sendable (String) async throws -> Bool)? = nil,
            beforeServerStarts: @escaping @Sendable () async throws -> Void = {},
            onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
        ) {
            self.store = store
            self.signer = signer
            self.channels = channels
            self.registry = registry
            self.logger = logger
            self.ingest = ingest
            self.log = log
            self.stats = stats
            self.drain = drain
            self.beforeServerStarts = beforeServerStarts
            self.onServerRunning = onServerRunning
        }
    }

    public let activity: ChannelActivity
    /// The routes its server registers (compared with the OpenAPI document by the tests).
    let registeredRoutes: Set<OpenAPIDocument.Route>
    /// In start order: the channel activity, the sweeper, the server.
    public let services: [any Service]

    public init(configuration: Configuration, dependencies: Dependencies) throws {
        let store = dependencies.store
        let logger = dependencies.logger
        let activity = ChannelActivity(
            log: dependencies.log, store: store, registry: dependencies.registry, configuration: configuration.activity,
            logger: logger)
        let router = GatewayServer.buildRouter(
            ingest: dependencies.ingest,
            accounts: AccountsController(
                store: store, hasher: PasswordHasher(cost: configuration.bcryptCost), signer: dependencies.signer,
                tokenLifetime: configuration.tokenLifetime, logger: logger,
                throttle: configuration.loginThrottle.isEnabled ? LoginThrottle(configuration: configuration.loginThrottle) : nil),
            placement: PlacementController(
                store: store, signer: dependencies.signer, configuration: configuration.placement, logger: logger,
                channels: dependencies.channels,
                deadNodes: DeadNodeCheck(
                    store: store, nodeTTL: configuration.nodeTTL, timeout: configuration.nodeProbe.timeout, logger: logger,
                    metrics: PrometheusMetricsFactory(registry: dependencies.registry))),
            store: store, nodeTTL: configuration.nodeTTL, registry: dependencies.registry, web: try WebController(),
            admin: AdminController(
                password: configuration.adminPassword, store: store, signer: dependencies.signer,
                nodeTTL: configuration.nodeTTL, stats: dependencies.stats, drain: dependencies.drain, activity: activity),
            activity: activity, corsOrigins: configuration.server.corsOrigins)
        let server = GatewayServer.buildApplication(
            configuration: configuration.server, router: router, logger: logger,
            metrics: PrometheusMetricsFactory(registry: dependencies.registry),
            beforeServerStarts: dependencies.beforeServerStarts, onServerRunning: dependencies.onServerRunning)
        self.activity = activity
        self.registeredRoutes = router.registeredRoutes
        self.services = [
            activity, SessionSweeper(store: store, nodeTTL: configuration.nodeTTL, logger: logger),
            NodeProber(
                store: store, nodeTTL: configuration.nodeTTL, configuration: configuration.nodeProbe, logger: logger,
                metrics: PrometheusMetricsFactory(registry: dependencies.registry)),
            server,
        ]
    }
}
