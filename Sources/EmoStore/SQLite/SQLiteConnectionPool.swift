import Logging
import SQLiteNIO

/// A small pool of connections to one SQLite file, each used by one task at a time.
///
/// sqlite-nio runs every statement as a blocking job on an `NIOThreadPool`. While one connection holds the
/// write lock across several statements (`BEGIN IMMEDIATE` ... `COMMIT`), others block in SQLite's busy
/// handler *on a pool thread*. With fewer threads than connections, every thread could end up blocked
/// behind the lock holder's next statement. So the pool owns a thread pool with one thread per connection.
actor SQLiteConnectionPool {
    struct Configuration: Sendable {
        var path: String
        var maxConnections: Int
        var busyTimeout: Duration
    }

    private let configuration: Configuration
    private let logger: Logger
    private let threadPool: NIOThreadPool
    private var threadPoolStarted = false
    private var idle: [SQLiteConnection] = []
    private var all: [SQLiteConnection] = []
    private var opening = 0
    private var waiters: [CheckedContinuation<SQLiteConnection?, any Error>] = []
    private var isClosed = false
    private var closer: CheckedContinuation<Void, Never>?

    init(configuration: Configuration, logger: Logger) {
        precondition(configuration.maxConnections > 0, "an SQLite pool needs at least one connection")
        self.configuration = configuration
        self.logger = logger
        self.threadPool = NIOThreadPool(numberOfThreads: configuration.maxConnections)
    }

    /// Takes an idle connection, opens a new one while under the limit, or waits for one to be returned.
    func checkout() async throws -> SQLiteConnection {
        while true {
            guard !self.isClosed else { throw EmoStoreError.closed }
            if let connection = self.idle.popLast() {
                return connection
            }
            if self.all.count + self.opening < self.configuration.maxConnections {
                return try await self.openNew()
            }
            // `nil` means a slot was freed (a connection dropped or failed to open): go round again.
            if let connection = try await withCheckedThrowingContinuation({ self.waiters.append($0) }) {
                return connection
            }
        }
    }

    /// Returns a connection; a broken one (`reusable == false`) is closed, freeing its slot for a waiter.
    func checkin(_ connection: SQLiteConnection, reusable: Bool = true) async {
        if !reusable || self.isClosed {
            // Closed before it leaves `all`: a `close()` waiting for the pool to drain must not shut the thread pool
            // down while this connection is still closing on it (actor reentrancy at the `await`).
            try? await connection.close()
            self.all.removeAll { $0 === connection }
            if self.isClosed {
                self.resumeCloserIfDrained()
            } else if !self.waiters.isEmpty {
                self.waiters.removeFirst().resume(returning: nil)
            }
            return
        }
        if self.waiters.isEmpty {
            self.idle.append(connection)
        } else {
            self.waiters.removeFirst().resume(returning: connection)
        }
    }

    /// Closes every connection and stops the thread pool, after connections in use have been returned.
    func close() async throws {
        guard !self.isClosed else { return }
        self.isClosed = true
        for waiter in self.waiters { waiter.resume(throwing: EmoStoreError.closed) }
        self.waiters.removeAll()
        let idle = self.idle
        self.idle.removeAll()
        for connection in idle {
            self.all.removeAll { $0 === connection }
            try? await connection.close()
        }
        if !self.all.isEmpty || self.opening > 0 {
            await withCheckedContinuation { self.closer = $0 }
        }
        if self.threadPoolStarted {
            try await self.threadPool.shutdownGracefully()
        }
    }

    private func openNew() async throws -> SQLiteConnection {
        self.opening += 1
        defer {
            self.opening -= 1
            if self.isClosed { self.resumeCloserIfDrained() }
        }
        if !self.threadPoolStarted {
            self.threadPool.start()
            self.threadPoolStarted = true
        }
        let connection: SQLiteConnection
        do {
            connection = try await Self.open(self.configuration, threadPool: self.threadPool, logger: self.logger)
        } catch {
            if !self.waiters.isEmpty { self.waiters.removeFirst().resume(returning: nil) }
            throw error
        }
        guard !self.isClosed else {
            try? await connection.close()
            throw EmoStoreError.closed
        }
        self.all.append(connection)
        return connection
    }

    private func resumeCloserIfDrained() {
        if self.all.isEmpty && self.opening == 0, let closer = self.closer {
            self.closer = nil
            closer.resume()
        }
    }

    private static func open(_ configuration: Configuration, threadPool: NIOThreadPool, logger: Logger) async throws -> SQLiteConnection {
        let connection = try await SQLiteConnection.open(
            storage: .file(path: configuration.path),
            threadPool: threadPool,
            logger: logger,
            on: MultiThreadedEventLoopGroup.singleton.any()
        )
        do {
            // PRAGMA arguments cannot be bound; the only interpolated value is an integer we computed.
            let timeoutMillis = max(0, Int(configuration.busyTimeout.emoTimeInterval * 1000))
            _ = try await connection.query("PRAGMA busy_timeout = \(timeoutMillis)")
            _ = try await connection.query("PRAGMA journal_mode = WAL")
            _ = try await connection.query("PRAGMA synchronous = NORMAL")
            _ = try await connection.query("PRAGMA foreign_keys = ON")
        } catch {
            try? await connection.close()
            throw error
        }
        return connection
    }
}
