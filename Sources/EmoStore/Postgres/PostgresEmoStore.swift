import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// The fleet store: PostgreSQL, shared by every gateway and node process.
///
/// Atomicity of ``reserveSession(user:now:ticketTTL:nodeTTL:)`` (READ COMMITTED, row locks):
/// 1. `SELECT ... FROM users WHERE name = $1 FOR UPDATE` serialises all reservations of one user; the
///    tier count is a later statement, so it sees every session committed by the previous lock holder.
/// 2. The best candidate node is read, then locked with `SELECT ... FOR UPDATE` inside a savepoint and its
///    live sessions are counted again. Every insert on a node happens while holding that node's row lock,
///    so the re-count is exact and the node can never exceed its capacity.
/// 3. If the node filled up meanwhile, `ROLLBACK TO SAVEPOINT` releases its lock and the next best node is
///    tried, so a transaction holds at most one node lock at a time. Deadlock or serialization failures
///    (SQLSTATE 40P01 / 40001), should they happen, roll back and retry the whole transaction.
///
/// The store wraps a `PostgresClient`, which only works while it runs: add the store (or ``client``) to
/// a `ServiceGroup`, or call ``run()`` in a task that lives as long as the store is used.
public final class PostgresEmoStore: EmoStore, Service {
    public let client: PostgresClient
    /// How long one operation may wait for PostgreSQL (a pooled connection and its answers) before it fails with
    /// ``EmoStoreError/unavailable(_:)``: while the server is down the pool keeps trying to connect, and a request
    /// must not wait for it indefinitely.
    public let operationTimeout: Duration
    let logger: Logger

    public init(
        configuration: PostgresClient.Configuration, operationTimeout: Duration = .seconds(5),
        logger: Logger = Logger(label: "emostream.store.postgres")
    ) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.operationTimeout = operationTimeout
        self.logger = logger
    }

    /// - Parameters:
    ///   - url: `postgres://user:password@host:port/database` (see ``configuration(url:)``).
    ///   - maxConnections: The most connections the client's pool opens.
    public convenience init(url: String, maxConnections: Int = 20, logger: Logger = Logger(label: "emostream.store.postgres")) throws {
        var configuration = try Self.configuration(url: url)
        configuration.options.maximumConnections = maxConnections
        self.init(configuration: configuration, logger: logger)
    }

    /// Runs the client's connection pool until graceful shutdown or cancellation.
    public func run() async {
        await self.client.run()
    }

    // MARK: Transactions

    /// Runs `body` between `BEGIN` and `COMMIT` on one pooled connection; rolls back on error and retries
    /// the whole transaction on deadlock or serialization failure.
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await self.withConnection { connection in
                    try await connection.query("BEGIN", logger: self.logger)
                    do {
                        let result = try await body(connection)
                        try await connection.query("COMMIT", logger: self.logger)
                        return result
                    } catch {
                        do {
                            try await connection.query("ROLLBACK", logger: self.logger)
                        } catch {
                            // Never hand a connection in an unknown transaction state back to the pool.
                            try? await connection.close()
                        }
                        throw error
                    }
                }
            } catch let error as PSQLError where error.isTransientTransactionFailure && attempt < 20 {
                self.logger.debug("Retrying transaction", metadata: [
                    "attempt": "\(attempt)", "sqlstate": "\(error.serverInfo?[.sqlState] ?? "")",
                ])
                continue
            }
        }
    }
}

extension PostgresEmoStore {
    // MARK: Deadlines

    /// `client.query` within ``operationTimeout``.
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.withinDeadline { try await self.client.query(query, logger: logger) }
    }

    /// `client.withConnection` within ``operationTimeout``.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await self.withinDeadline { try await self.client.withConnection(body) }
    }

    /// Runs `operation`, failing with ``EmoStoreError/unavailable(_:)`` when it takes longer than ``operationTimeout``
    /// (it is cancelled then, which also withdraws a wait for a connection) or when the server cannot be reached.
    func withinDeadline<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let timeout = self.operationTimeout
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await operation() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let value = first else {
                    throw EmoStoreError.unavailable("PostgreSQL did not answer within \(timeout)")
                }
                return value
            }
        } catch let error as PSQLError where error.isUnavailable {
            throw EmoStoreError.unavailable("PostgreSQL cannot be reached (\(error.code))")
        }
    }
}

extension PSQLError {
    /// The server cannot be reached or is going away: connection failures, and the SQLSTATEs of a server shutting
    /// down or starting up (class 08, 57P01-57P03).
    var isUnavailable: Bool {
        switch self.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return true
        case .server:
            guard let state = self.serverInfo?[.sqlState] else { return false }
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03"].contains(state)
        default:
            return false
        }
    }

    /// Deadlock detected or serialization failure: the transaction was rolled back and may simply be retried.
    var isTransientTransactionFailure: Bool {
        guard let state = self.serverInfo?[.sqlState] else { return false }
        return state == "40P01" || state == "40001"
    }
}
