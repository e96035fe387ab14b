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
