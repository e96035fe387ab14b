import Accounts
import EmoStore
import Foundation
import Logging
import ServiceLifecycle
import Testing

let quietLogger = Logger(label: "node-tests", factory: { _ in SwiftLogNoOpLogHandler() })

let testSigner = TokenSigner(secret: Array("node-tests-secret-0123456789abcdef".utf8))

/// A fresh, migrated SQLite store in a directory of the test's own, closed and deleted afterwards.
func withStore<T: Sendable>(_ body: (SQLiteEmoStore) async throws -> T) async throws -> T {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("node-tests-\(UUID().uuidString)")
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

/// A ticket as `POST /api/connect` signs it.
func ticket(
    session: String = "s-1", user: String = "viewer", node: String, channel: String = "main",
    expiresIn seconds: TimeInterval = 600, signer: TokenSigner = testSigner
) -> String {
    signer.sign(
        TokenClaims(
            kind: .ticket, subject: user, tier: 1, expiresAt: Int64(Date().addingTimeInterval(seconds).timeIntervalSince1970),
            sessionID: session, node: node, channel: channel))
}

struct TimedOut: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Guards a wait on something that must happen, so that a broken build fails instead of hanging. Never used to
/// order events.
func withDeadline<T: Sendable>(
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

/// Runs `services` in a ServiceGroup around `body`, then shuts them down gracefully and waits for them to end.
func withServices<T: Sendable>(_ services: [any Service], _ body: () async throws -> T) async throws -> T {
    let group = ServiceGroup(services: services, logger: quietLogger)
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
