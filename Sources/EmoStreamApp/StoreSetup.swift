import Accounts
import EmoCore
import EmoStore
import EmoWeb
import EventLog
import Gateway
import Hummingbird
import Ingest
import Prometheus
import Foundation
import Logging
import Node
import ServiceLifecycle

/// Opens the accounts store named by the configuration: PostgreSQL for a `postgres://` URL, else the SQLite
/// file `emostream.sqlite` in the data directory.
public enum StoreFactory {
    public static func make(databaseURL: String?, dataDirectory: String, logger: Logger) throws -> any EmoStore & Service {
        if let databaseURL, !databaseURL.isEmpty {
            return try PostgresEmoStore(url: databaseURL, logger: logger)
        }
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        return SQLiteEmoStore(path: (dataDirectory as NSString).appendingPathComponent("emostream.sqlite"), logger: logger)
    }
}

/// Migrates the store's schema once the store runs, and lets servers wait for that before they listen.
public final class StoreMigration: Service {
    let store: any EmoStore
    let done = ReadinessGate<Void>()

    public init(store: any EmoStore) {
        self.store = store
    }

    public func run() async throws {
        do {
            try await store.migrate()
            done.open(())
        } catch {
            done.fail(error)
            throw error
        }
        try? await gracefulShutdown()
    }

    /// Waits until the schema is ready (throws if the migration failed).
    public func wait() async throws {
        try await done.wait()
    }
}

/// Accounts, tokens and placement settings, shared by `up`, `gateway` and `node`.
public struct AccountsConfiguration: Sendable {
    /// `postgres://…` for a shared PostgreSQL store; nil keeps accounts in SQLite under the data directory.
    public var databaseURL: String?
    /// Token-signing secret; nil generates one and keeps it in the data directory.
    public var secret: String?
    public var tokenLifetime: Duration = .seconds(12 * 3600)
    public var ticketLifetime: Duration = .seconds(30)
    public var bcryptCost: UInt8 = 10
    /// A node that has not heartbeated for this long gets no viewers and loses its sessions.
    public var nodeTTL: Duration = .seconds(10)
    public var heartbeatInterval: Duration = .seconds(2)
    /// The operator password of `/admin`; nil disables the admin page and API.
    public var adminPassword: String?
    /// Only channels registered with `emostream channels add` accept reactions and viewers; otherwise a channel
    /// is created when first used.
    public var channelsClosed: Bool = false

    public init() {}
}

/// The store (run as a service), its migration, and the token signer of one process.
struct AccountsBackend {
    let store: any EmoStore & Service
    let migration: StoreMigration
    let signer: TokenSigner
    let configuration: AccountsConfiguration
    /// The channels this process lets reactions and viewers use (a cache over the store's registry).
    let channels: ChannelRegistry

    init(configuration: AccountsConfiguration, dataDirectory: String, logger: Logger) throws {
        self.configuration = configuration
        store = try StoreFactory.make(databaseURL: configuration.databaseURL, dataDirectory: dataDirectory, logger: logger)
        channels = ChannelRegistry(store: store, configuration: .init(closed: configuration.channelsClosed))
        migration = StoreMigration(store: store)
        signer = TokenSigner(secret: try SigningSecret.load(configured: configuration.secret, dataDirectory: dataDirectory))
    }

    /// The gateway's routes over this backend, the web app included; `ingest` is nil where reactions are not
    /// accepted.
    func gatewayRouter(
        ingest: IngestController?, stats: PipelineStats?, registry: PrometheusCollectorRegistry, logger: Logger,
        drain: (@Sendable (String) async throws -> Bool)? = nil, activity: ChannelActivity? = nil
    ) throws -> Router<BasicRequestContext> {
        let activity = activity ?? self.channelActivity(log: nil, registry: registry, logger: logger)
        var placement = PlacementController.Configuration()
        placement.ticketLifetime = configuration.ticketLifetime
        placement.nodeTTL = configuration.nodeTTL
        return GatewayServer.buildRouter(
            ingest: ingest,
            accounts: AccountsController(
                store: store, hasher: PasswordHasher(cost: configuration.bcryptCost), signer: signer,
                tokenLifetime: configuration.tokenLifetime, logger: logger),
            placement: PlacementController(
                store: store, signer: signer, configuration: placement, logger: logger, channels: channels),
            store: store, nodeTTL: configuration.nodeTTL, registry: registry, web: try WebController(),
            admin: AdminController(
                password: configuration.adminPassword, store: store, signer: signer, nodeTTL: configuration.nodeTTL,
                stats: stats, drain: drain, activity: activity),
            activity: activity)
    }

    /// Per-channel viewers and reactions per second; `log` is where the bursts are (nil: reactions/s are 0).
    func channelActivity(
        log: (any EventLog)?, registry: PrometheusCollectorRegistry, logger: Logger,
        configure: (inout ChannelActivity.Configuration) -> Void = { _ in }
    ) -> ChannelActivity {
        var activityConfiguration = ChannelActivity.Configuration()
        activityConfiguration.nodeTTL = configuration.nodeTTL
        configure(&activityConfiguration)
        return ChannelActivity(
            log: log, store: store, registry: registry, configuration: activityConfiguration, logger: logger)
    }

    func sweeper(logger: Logger) -> SessionSweeper {
        SessionSweeper(store: store, nodeTTL: configuration.nodeTTL, logger: logger)
    }

    func heartbeat(logger: Logger) -> NodeHeartbeat {
        NodeHeartbeat(store: store, interval: configuration.heartbeatInterval, logger: logger)
    }
}
