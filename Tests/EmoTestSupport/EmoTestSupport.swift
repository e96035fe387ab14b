import EmoStore
import Foundation
import Logging
import ServiceLifecycle

/// Helpers the component test targets share.

/// A logger that writes nothing.
public let quietLogger = Logger(label: "tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `services` in one ServiceGroup around `body`, then shuts them down gracefully and waits for them to end.
public func withServices<T: Sendable>(
    _ services: [any Service], logger: Logger = quietLogger, _ body: () async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: services, logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let result: T
        do {
            result = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

public struct TimedOut: Error, CustomStringConvertible {
    public var what: String
    public var description: String { "timed out waiting for \(what)" }

    public init(what: String) {
        self.what = what
    }
}

/// Guards a wait on something that must happen, so that a broken build fails instead of hanging. Never used to
/// order events.
public func withDeadline<T: Sendable>(
    _ what: String, seconds: Int = 20, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut(what: what)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// A fresh, migrated SQLite store in a directory of the test's own, closed and deleted afterwards.
public func withSQLiteStore<T: Sendable>(_ body: (SQLiteEmoStore) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let store = SQLiteEmoStore(path: directory.appendingPathComponent("store.sqlite").path, logger: quietLogger)
    do {
        try await store.migrate()
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}
