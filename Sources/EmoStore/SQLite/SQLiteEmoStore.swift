import Foundation
import Logging
import ServiceLifecycle
import SQLiteNIO

/// The embedded store: one SQLite file in WAL mode, shared by the connections of a small pool (and by
/// other processes opening the same file).
///
/// Atomicity: every multi-statement operation runs in `BEGIN IMMEDIATE` ... `COMMIT`, which takes SQLite's
/// single write lock up front, so the reads that decide a reservation (tier count, node loads) and the
/// insert happen with no other writer in between, whichever connection or process it comes from. Waiting
/// writers block in SQLite's busy handler up to `busyTimeout`; an `SQLITE_BUSY` after that is retried.
///
/// Connections open lazily on first use, so `init` does no I/O. Call ``close()`` when done, or run the store
/// as a `Service` in a `ServiceGroup`: ``run()`` waits for graceful shutdown (or cancellation) and then closes.
public final class SQLiteEmoStore: EmoStore, Service {
    public let path: String
    let pool: SQLiteConnectionPool
    let logger: Logger

    /// - Parameters:
    ///   - path: The database file; created if missing. Its directory must exist.
    ///   - maxConnections: Connections (and threads) in the pool; concurrent operations beyond it wait.
    ///   - busyTimeout: How long a connection waits for another writer's lock before `SQLITE_BUSY`.
    public init(
        path: String,
        maxConnections: Int = 4,
        busyTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "emostream.store.sqlite")
    ) {
        self.path = path
        self.logger = logger
        self.pool = SQLiteConnectionPool(
            configuration: .init(path: path, maxConnections: maxConnections, busyTimeout: busyTimeout),
            logger: logger
        )
    }

    /// Waits for graceful shutdown or cancellation, then closes the store.
    public func run() async throws {
        try? await gracefulShutdown()
        // Close even when the task was cancelled: an unclosed SQLite connection must not be left to deinit.
        try await Task { try await self.close() }.value
    }

    /// Closes all connections once in-flight operations finish. Later operations throw ``EmoStoreError/closed``.
    public func close() async throws {
        try await self.pool.close()
    }

    // MARK: Connections and transactions

    private struct BrokenConnection: Error {
        var underlying: any Error
    }

    func withConnection<T>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        let connection = try await self.pool.checkout()
        do {
            let result = try await body(connection)
            await self.pool.checkin(connection)
            return result
        } catch let broken as BrokenConnection {
            await self.pool.checkin(connection, reusable: false)
            throw broken.underlying
        } catch {
            await self.pool.checkin(connection)
            throw error
        }
    }

    /// Runs `body` in a `BEGIN IMMEDIATE` transaction, retrying when the write lock stays busy.
    func withWriteTransaction<T>(_ body: (SQLiteConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await self.withConnection { connection in
                    _ = try await connection.query("BEGIN IMMEDIATE")
                    let result: T
                    do {
                        result = try await body(connection)
                        _ = try await connection.query("COMMIT")
                    } catch {
                        do {
                            _ = try await connection.query("ROLLBACK")
                        } catch {
                            throw BrokenConnection(underlying: error)
                        }
                        throw error
                    }
                    return result
                }
            } catch let error as SQLiteError where error.reason == .busy && attempt < 5 {
                self.logger.debug("SQLite busy, retrying transaction", metadata: ["attempt": "\(attempt)"])
                continue
            }
        }
    }

    func query(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await self.withConnection { try await $0.query(sql, binds) }
    }
}
