import Accounts
import EmoStore
import Foundation
import Logging
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

/// The store (run as a service), its schema migration, the channel registry and the token signer of one process:
/// what the gateway, the nodes and a registry-checking ingest share.
public struct StoreInfrastructure: Sendable {
    public let store: any EmoStore & Service
    public let migration: StoreMigration
    public let signer: TokenSigner
    /// The channels this process lets reactions and viewers use (a cache over the store's registry).
    public let channels: ChannelRegistry

    public init(configuration: StoreConfiguration, dataDirectory: String, logger: Logger) throws {
        store = try StoreFactory.make(databaseURL: configuration.databaseURL, dataDirectory: dataDirectory, logger: logger)
        channels = ChannelRegistry(store: store, configuration: .init(closed: configuration.channelsClosed))
        migration = StoreMigration(store: store)
        signer = TokenSigner(secret: try SigningSecret.load(configured: configuration.secret, dataDirectory: dataDirectory))
    }

    /// The store and its migration, first in a process's services.
    public var services: [any Service] { [store, migration] }

    /// Waits until the schema is ready: servers run it before they listen.
    public var waitForSchema: @Sendable () async throws -> Void {
        { [migration] in try await migration.wait() }
    }
}
