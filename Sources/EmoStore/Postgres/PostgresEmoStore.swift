import EmoCore
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The fleet store: PostgreSQL, shared by every gateway and node process.
///
/// Atomicity of ``reserveSession(user:now:ticketTTL:nodeTTL:)`` (READ COMMITTED, row locks): concurrent calls are
/// run in batches (``OperationBatcher``, one batch at a time per store), each batch in one transaction and one statement,
/// the server-side function `emo_reserve_sessions` (migration 4):
/// 1. `SELECT ... FROM users WHERE name = ANY ($1) ORDER BY name FOR UPDATE` serialises all reservations of each of the
///    batch's users with those of other batches (other gateways); the tier counts are later statements, so they see
///    every session committed by the previous lock holder, and those the batch reserved before.
/// 2. Every live node is locked the same way, in name order after the users, so two batches never wait for each other
///    in a cycle. With every candidate locked, each request's choice and count stay exact until COMMIT, and no node can
///    exceed its capacity. Deadlock or serialization failures (SQLSTATE 40P01 / 40001), should they happen, roll back
///    and retry the whole transaction.
/// One transaction per batch instead of per call: reservations placing on one node serialise on its row lock, and a
/// lock held until the gateway's COMMIT arrives made a storm of reconnects wait for one round trip each.
///
/// The store wraps a `PostgresClient`, which only works while it runs: add the store (or ``client``) to
/// a `ServiceGroup`, or call ``run()`` in a task that lives as long as the store is used.
public final class PostgresEmoStore: EmoStore, Service {
    public let client: PostgresClient
    /// How long an operation may go on while PostgreSQL answers nothing at all (no operation of this store finished
    /// meanwhile) before it fails with ``EmoStoreError/unavailable(_:)``: while the server is down the pool keeps
    /// trying to connect, and a request must not wait for it indefinitely. An operation that merely queues behind
    /// others (a storm of connects for one user serialises on that user's row) keeps waiting while they finish.
    public let silenceLimit: Duration
    /// The longest any one operation may take, however busy the server is, before it fails with
    /// ``EmoStoreError/unavailable(_:)``.
    public let operationTimeout: Duration
    /// When an operation of this store last got an answer from PostgreSQL (a result or a server error).
    let lastAnswer: Mutex<ContinuousClock.Instant>
    /// Concurrent ``reserveSession(user:channel:now:ticketTTL:nodeTTL:)`` calls, run in batches.
    let reservations = OperationBatcher<ReservationRequest, ReservationOutcome>()
    /// Concurrent ``activateSession(id:node:now:)`` calls, run in batches.
    let activations = OperationBatcher<ActivationRequest, Bool>()
    let logger: Logger

    public init(
        configuration: PostgresClient.Configuration, silenceLimit: Duration = .seconds(5),
        operationTimeout: Duration = .seconds(30), logger: Logger = Logger(label: "emostream.store.postgres")
    ) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.silenceLimit = silenceLimit
        self.operationTimeout = operationTimeout
        self.lastAnswer = Mutex(ContinuousClock.now)
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

    /// One ``reserveSession(user:channel:now:ticketTTL:nodeTTL:)`` call waiting for its batch.
    struct ReservationRequest: Sendable {
        var user: String
        var channel: String
        /// The new session's id, chosen before the batch runs.
        var id: String
        var now: Date
        /// Nodes (and so sessions) whose heartbeat is older are dead.
        var cutoff: Date
        var expiresAt: Date
    }

    /// One ``activateSession(id:node:now:)`` call waiting for its batch.
    struct ActivationRequest: Sendable {
        var id: String
        var node: String
        var now: Date
    }

    // MARK: Transactions

    /// Runs `body` between `BEGIN` and `COMMIT` on one pooled connection; rolls back on error and retries
    /// the whole transaction on deadlock or serialization failure. A transaction whose caller has already been
    /// answered (its deadline passed while a statement waited) rolls back instead of committing, so a request answered
    /// `503` changed nothing unless its `COMMIT` itself was under way.
    func withTransaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try await self.withConnection { connection in
                    try await self.answered(connection.query("BEGIN", logger: self.logger))
                    do {
                        let result = try await body(connection)
                        try Task.checkCancellation()
                        try await self.answered(connection.query("COMMIT", logger: self.logger))
                        return result
                    } catch {
                        do {
                            try await self.answered(connection.query("ROLLBACK", logger: self.logger))
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

    /// `client.query` within the store's deadlines (see ``withinDeadline(_:)``).
    @discardableResult
    func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await self.withinDeadline { try await self.client.query(query, logger: logger) }
    }

    /// `client.withConnection` within the store's deadlines (see ``withinDeadline(_:)``).
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await self.withinDeadline { try await self.client.withConnection(body) }
    }

    /// Runs `operation`, failing with ``EmoStoreError/unavailable(_:)`` when the server cannot be reached, when
    /// ``silenceLimit`` passes with no answer to any operation of this store, or after ``operationTimeout`` in any case.
    /// The caller gets that answer at once; the operation is cancelled, which withdraws a wait for a pooled connection,
    /// and one already sent to the server runs on in its own task until the server answers or the connection fails.
    func withinDeadline<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        let (silence, timeout) = (self.silenceLimit, self.operationTimeout)
        let first = FirstResult<T>()
        let work = Task {
            do {
                let value = try await operation()
                self.heardFromServer()
                first.resolve(.success(value))
            } catch let error as PSQLError where error.isUnavailable {
                first.resolve(.failure(EmoStoreError.unavailable("PostgreSQL cannot be reached (\(error.code))")))
            } catch let error as PSQLError {
                self.heardFromServer()  // the server answered, with an error
                first.resolve(.failure(error))
            } catch {
                first.resolve(.failure(error))
            }
        }
        let deadline = Task {
            let clock = ContinuousClock()
            let start = clock.now
            let end = start.advanced(by: timeout)
            var wake = min(start.advanced(by: silence), end)
            while (try? await Task.sleep(until: wake, clock: clock)) != nil {
                let now = clock.now
                if now >= end {
                    return first.resolve(.failure(EmoStoreError.unavailable("PostgreSQL did not answer within \(timeout)")))
                }
                let heard = self.lastAnswer.withLock { $0 }
                if now - heard >= silence {
                    return first.resolve(.failure(EmoStoreError.unavailable("PostgreSQL answered nothing for \(silence)")))
                }
                wake = min(heard.advanced(by: silence), end)
            }
        }
        defer {
            deadline.cancel()
            work.cancel()
        }
        return try await first.wait()
    }

    /// `value`, noting that the server answered: every statement of an operation counts, so a long transaction (a
    /// migration, a reservation's steps) on a busy server is not taken for silence.
    func answered<T>(_ value: T) -> T {
        self.heardFromServer()
        return value
    }

    private func heardFromServer() {
        let now = ContinuousClock.now
        self.lastAnswer.withLock { $0 = max($0, now) }
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
