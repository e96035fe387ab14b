import EmoStore
import Foundation
import Testing

/// Behaviour specific to the embedded store.
@Suite("SQLite store")
struct SQLiteStoreTests {
    @Test
    func usesWriteAheadLogging() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emostore-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("store.sqlite").path
        let store = SQLiteEmoStore(path: path, logger: TestStores.logger)
        try await store.migrate()
        _ = try await store.createUser(name: "wal", passwordHash: "h", tier: .one, now: TestStores.t0)
        #expect(FileManager.default.fileExists(atPath: path + "-wal"))
        try await store.close()
        await #expect(throws: EmoStoreError.closed) { try await store.listUsers() }
    }

    @Test
    func unopenableFileFailsEveryCallerInsteadOfHanging() async throws {
        let store = SQLiteEmoStore(path: "/nonexistent-\(UUID().uuidString)/store.sqlite", maxConnections: 1, logger: TestStores.logger)
        let failures = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    do {
                        try await store.migrate()
                        return false
                    } catch {
                        return true
                    }
                }
            }
            return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(failures == 5)
        try await store.close()
    }
}
