import Foundation
import SQLiteNIO

extension SQLiteEmoStore {
    /// Versioned migrations; entry `i` brings the schema to version `i + 1`. Append, never edit.
    /// Timestamps are integer milliseconds since 1970.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE users (
                name TEXT PRIMARY KEY NOT NULL,
                password_hash TEXT NOT NULL,
                tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
                created_at INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE nodes (
                name TEXT PRIMARY KEY NOT NULL,
                ws_url TEXT NOT NULL,
                sse_url TEXT NOT NULL,
                capacity INTEGER NOT NULL CHECK (capacity >= 0),
                registered_at INTEGER NOT NULL,
                last_heartbeat INTEGER NOT NULL
            )
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY NOT NULL,
                user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
                node_name TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
                state TEXT NOT NULL CHECK (state IN ('reserved', 'active')),
                created_at INTEGER NOT NULL,
                ticket_expires_at INTEGER NOT NULL,
                lease_renewed_at INTEGER NOT NULL
            )
            """,
            "CREATE INDEX sessions_user_idx ON sessions (user_name)",
            "CREATE INDEX sessions_node_idx ON sessions (node_name)",
        ],
        // 2: the channel registry, and the channel each session watches.
        [
            """
            CREATE TABLE channels (
                name TEXT PRIMARY KEY NOT NULL,
                created_at INTEGER NOT NULL
            )
            """,
            "ALTER TABLE sessions ADD COLUMN channel TEXT NOT NULL DEFAULT 'main'",
        ],
    ]

    public func migrate() async throws {
        let applied = try await self.withWriteTransaction { connection in
            _ = try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_version (
                    version INTEGER PRIMARY KEY NOT NULL,
                    applied_at INTEGER NOT NULL
                )
                """)
            let rows = try await connection.query("SELECT coalesce(max(version), 0) AS v FROM schema_version")
            let current = rows.first?.column("v")?.integer ?? 0
            var applied: [Int] = []
            for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                for statement in statements {
                    _ = try await connection.query(statement)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?1, ?2)",
                    [.integer(index + 1), .integer(SQLiteInt64(Date().emoMillis))]
                )
                applied.append(index + 1)
            }
            return applied
        }
        if !applied.isEmpty {
            self.logger.info("Migrated SQLite store", metadata: ["path": "\(self.path)", "versions": "\(applied)"])
        }
    }
}
