import PostgresNIO

extension PostgresEmoStore {
    /// Versioned migrations; entry `i` brings the schema to version `i + 1`. Append, never edit.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE users (
                name TEXT PRIMARY KEY,
                password_hash TEXT NOT NULL,
                tier INTEGER NOT NULL CHECK (tier BETWEEN 1 AND 3),
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE nodes (
                name TEXT PRIMARY KEY,
                ws_url TEXT NOT NULL,
                sse_url TEXT NOT NULL,
                capacity INTEGER NOT NULL CHECK (capacity >= 0),
                registered_at TIMESTAMPTZ NOT NULL,
                last_heartbeat TIMESTAMPTZ NOT NULL
            )
            """,
            """
            CREATE TABLE sessions (
                id TEXT PRIMARY KEY,
                user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
                node_name TEXT NOT NULL REFERENCES nodes (name) ON DELETE CASCADE,
                state TEXT NOT NULL CHECK (state IN ('reserved', 'active')),
                created_at TIMESTAMPTZ NOT NULL,
                ticket_expires_at TIMESTAMPTZ NOT NULL,
                lease_renewed_at TIMESTAMPTZ NOT NULL
            )
            """,
            "CREATE INDEX sessions_user_idx ON sessions (user_name)",
            "CREATE INDEX sessions_node_idx ON sessions (node_name)",
        ],
        // 2: the channel registry, and the channel each session watches.
        [
            """
            CREATE TABLE channels (
                name TEXT PRIMARY KEY,
                created_at TIMESTAMPTZ NOT NULL
            )
            """,
            "ALTER TABLE sessions ADD COLUMN channel TEXT NOT NULL DEFAULT 'main'",
        ],
    ]

    /// An arbitrary constant naming the advisory lock that serialises concurrent migrations.
    static let migrationLockKey = 0x456D_6F53_746F_7265 // "EmoStore"

    public func migrate() async throws {
        let applied = try await self.withTransaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: self.logger).collect()
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_version (
                    version INTEGER PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: self.logger)
            var current = 0
            for try await version in try await connection.query(
                "SELECT coalesce(max(version), 0)::int8 FROM schema_version", logger: self.logger
            ).decode(Int.self) {
                current = version
            }
            var applied: [Int] = []
            for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                for statement in statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query("INSERT INTO schema_version (version) VALUES (\(index + 1))", logger: self.logger)
                applied.append(index + 1)
            }
            return applied
        }
        if !applied.isEmpty {
            self.logger.info("Migrated PostgreSQL store", metadata: ["versions": "\(applied)"])
        }
    }
}
