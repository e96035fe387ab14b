import EmoStore
import Foundation
import PostgresNIO
import Testing

/// The store implementations every store test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { self.rawValue }
}

struct MissingTestDatabase: Error, CustomStringConvertible {
    var description: String {
        "EMOSTREAM_TEST_DATABASE_URL is not set: run the tests through scripts/with-postgres.sh, e.g. "
            + "`bash scripts/with-postgres.sh swift test`, or point it at a PostgreSQL server (postgres://user:pass@host:port/postgres)"
    }
}

/// Fresh, migrated databases for one test each, so tests can run in parallel.
enum TestStores {
    /// A fixed instant the tests count from; the stores never read the clock.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    /// Stores log errors only: tear-down cancels connection attempts (info), and the first query may be queued
    /// before the client task has started running (a harmless warning).
    static let logger: Logger = {
        var logger = Logger(label: "emostore.tests")
        logger.logLevel = .error
        return logger
    }()

    /// Runs `body` with `instances` independent store objects over one fresh database (several objects
    /// stand in for several processes sharing the database), then deletes the database.
    static func with<T: Sendable>(
        _ backend: Backend,
        instances: Int = 1,
        _ body: ([any EmoStore]) async throws -> T
    ) async throws -> T {
        switch backend {
        case .sqlite: try await self.withSQLite(instances: instances, body)
        case .postgres: try await self.withPostgres(instances: instances) { try await body($0) }
        }
    }

    private static func withSQLite<T: Sendable>(instances: Int, _ body: ([any EmoStore]) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emostore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let stores = (0..<instances).map { _ in SQLiteEmoStore(path: path, maxConnections: 4, logger: self.logger) }
        do {
            try await stores[0].migrate()
            let result = try await body(stores)
            for store in stores { try await store.close() }
            return result
        } catch {
            for store in stores { try? await store.close() }
            throw error
        }
    }

    /// Runs `body` with `instances` PostgreSQL stores over one fresh database, then deletes the database. Store `i`
    /// fails an operation once the server has answered it nothing for `silenceLimits[i]`; for those not given 15 s, not
    /// the 5 s default: the whole suite starts at once on two cores, creating dozens of databases and connections, and
    /// a first connection can take longer than 5 s then (only `PostgresDeadlineTests` tests the limit itself).
    static func withPostgres<T: Sendable>(
        instances: Int = 1, silenceLimits: [Duration] = [], _ body: ([PostgresEmoStore]) async throws -> T
    ) async throws -> T {
        guard let url = ProcessInfo.processInfo.environment["EMOSTREAM_TEST_DATABASE_URL"], !url.isEmpty else {
            throw MissingTestDatabase() // fails (never skips) every PostgreSQL case, with this message
        }
        var adminConfiguration = try PostgresEmoStore.configuration(url: url)
        adminConfiguration.options.maximumConnections = 1
        let admin = PostgresClient(configuration: adminConfiguration)
        // Only hex digits follow the prefix, so the name is safe to splice into DDL (which cannot bind it).
        let database = "emostore_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await admin.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(database)"))
            do {
                var configuration = adminConfiguration
                configuration.database = database
                configuration.options.maximumConnections = 8
                let stores = (0..<instances).map { index in
                    PostgresEmoStore(
                        configuration: configuration, silenceLimit: silenceLimits.indices.contains(index) ? silenceLimits[index] : .seconds(15),
                        logger: self.logger
                    )
                }
                let result = try await withThrowingTaskGroup(of: Void.self) { running in
                    for store in stores {
                        running.addTask { await store.run() }
                    }
                    defer { running.cancelAll() }
                    try await stores[0].migrate()
                    return try await body(stores)
                }
                try await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE \(database) WITH (FORCE)"))
                return result
            } catch {
                _ = try? await admin.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(database) WITH (FORCE)"))
                throw error
            }
        }
    }
}

extension ReservationOutcome {
    var sessionID: String? {
        if case .reserved(let id, _, _) = self { id } else { nil }
    }

    var nodeName: String? {
        if case .reserved(_, let node, _) = self { node.name } else { nil }
    }
}

extension EmoStore {
    /// Registers nodes `name -> capacity` with placeholder URLs.
    func registerNodes(_ capacities: [(String, Int)], now: Date) async throws {
        for (name, capacity) in capacities {
            try await self.registerNode(
                name: name, wsURL: "ws://\(name).test/ws", sseURL: "http://\(name).test/events", capacity: capacity, now: now
            )
        }
    }

    func reserve(_ user: String, at now: Date, ticketTTL: Duration = .seconds(30), nodeTTL: Duration = .seconds(10)) async throws -> ReservationOutcome {
        try await self.reserveSession(user: user, now: now, ticketTTL: ticketTTL, nodeTTL: nodeTTL)
    }
}
