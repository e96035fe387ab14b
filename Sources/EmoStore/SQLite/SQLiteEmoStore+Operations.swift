import Foundation
import SQLiteNIO

extension SQLiteEmoStore {
    // MARK: Users

    public func createUser(name: String, passwordHash: String, tier: Tier, now: Date) async throws -> UserRecord {
        let createdAt = now.emoTruncated
        let rows = try await self.query(
            """
            INSERT INTO users (name, password_hash, tier, created_at) VALUES (?1, ?2, ?3, ?4)
            ON CONFLICT (name) DO NOTHING RETURNING name
            """,
            [.text(name), .text(passwordHash), .integer(tier.rawValue), .millis(createdAt)]
        )
        guard !rows.isEmpty else { throw EmoStoreError.nameTaken }
        return UserRecord(name: name, passwordHash: passwordHash, tier: tier, createdAt: createdAt)
    }

    public func user(named name: String) async throws -> UserRecord? {
        let rows = try await self.query(
            "SELECT name, password_hash, tier, created_at FROM users WHERE name = ?1",
            [.text(name)]
        )
        return try rows.first.map(Self.userRecord)
    }

    public func listUsers() async throws -> [UserRecord] {
        try await self.query("SELECT name, password_hash, tier, created_at FROM users ORDER BY name").map(Self.userRecord)
    }

    public func removeUser(named name: String) async throws -> Bool {
        try await self.withWriteTransaction { connection in
            _ = try await connection.query("DELETE FROM sessions WHERE user_name = ?1", [.text(name)])
            let rows = try await connection.query("DELETE FROM users WHERE name = ?1 RETURNING name", [.text(name)])
            return !rows.isEmpty
        }
    }

    public func setTier(name: String, tier: Tier) async throws -> Bool {
        let rows = try await self.query(
            "UPDATE users SET tier = ?2 WHERE name = ?1 RETURNING name",
            [.text(name), .integer(tier.rawValue)]
        )
        return !rows.isEmpty
    }

    // MARK: Nodes

    public func registerNode(name: String, wsURL: String, sseURL: String, capacity: Int, now: Date) async throws {
        guard capacity >= 0 else { throw EmoStoreError.invalidArgument("node capacity must not be negative, got \(capacity)") }
        try await self.withWriteTransaction { connection in
            _ = try await connection.query("DELETE FROM sessions WHERE node_name = ?1", [.text(name)])
            _ = try await connection.query(
                """
                INSERT INTO nodes (name, ws_url, sse_url, capacity, registered_at, last_heartbeat)
                VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                ON CONFLICT (name) DO UPDATE SET
                    ws_url = excluded.ws_url, sse_url = excluded.sse_url, capacity = excluded.capacity,
                    registered_at = excluded.registered_at, last_heartbeat = excluded.last_heartbeat
                """,
                [.text(name), .text(wsURL), .text(sseURL), .integer(capacity), .millis(now)]
            )
        }
    }

    @discardableResult
    public func heartbeat(node: String, now: Date) async throws -> Bool {
        !(try await self.query(
            "UPDATE nodes SET last_heartbeat = ?2 WHERE name = ?1 RETURNING name", [.text(node), .millis(now)]
        )).isEmpty
    }

    @discardableResult
    public func markNodeUnreachable(node: String) async throws -> Bool {
        !(try await self.query(
            "UPDATE nodes SET last_heartbeat = ?2 WHERE name = ?1 RETURNING name", [.text(node), .millis(Date(emoMillis: 0))]
        )).isEmpty
    }

    public func nodes(now: Date, nodeTTL: Duration) async throws -> [NodeStatus] {
        try await self.withConnection { connection in
            try await Self.nodeStatuses(connection, now: now, nodeTTL: nodeTTL)
        }
    }

    // MARK: Sessions

    public func sessionsByTier(now: Date, nodeTTL: Duration) async throws -> [Tier: Int] {
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval)
        return try await self.withConnection { connection in
            let rows = try await connection.query(
                """
                SELECT u.tier AS tier, count(*) AS n FROM sessions s
                JOIN nodes n ON n.name = s.node_name JOIN users u ON u.name = s.user_name
                WHERE n.last_heartbeat >= ?2
                  AND ((s.state = 'reserved' AND s.ticket_expires_at > ?1)
                    OR s.state = 'active')
                GROUP BY u.tier
                """,
                [.millis(now), .millis(cutoff)]
            )
            var counts: [Tier: Int] = [:]
            for row in rows {
                counts[try Self.tier(row.column("tier"))] = row.column("n")?.integer ?? 0
            }
            return counts
        }
    }

    public func reserveSession(
        user: String, channel: String, now: Date, ticketTTL: Duration, nodeTTL: Duration
    ) async throws -> ReservationOutcome {
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval)
        let expiresAt = now.addingTimeInterval(ticketTTL.emoTimeInterval).emoTruncated
        return try await self.withWriteTransaction { connection in
            let users = try await connection.query("SELECT tier FROM users WHERE name = ?1", [.text(user)])
            guard let row = users.first else { return .unknownUser }
            let tier = try Self.tier(row.column("tier"))
            let held = try await connection.query(
                """
                SELECT count(*) AS n FROM sessions s JOIN nodes n ON n.name = s.node_name
                WHERE s.user_name = ?1 AND n.last_heartbeat >= ?3
                  AND ((s.state = 'reserved' AND s.ticket_expires_at > ?2)
                    OR s.state = 'active')
                """,
                [.text(user), .millis(now), .millis(cutoff)]
            )
            guard (held.first?.column("n")?.integer ?? 0) < tier.maxDevices else {
                return .tierLimit(limit: tier.maxDevices)
            }
            let nodes = try await Self.nodeStatuses(connection, now: now, nodeTTL: nodeTTL)
            guard var node = Placement.choose(nodes) else { return .noCapacity }
            let id = Placement.newSessionID()
            _ = try await connection.query(
                """
                INSERT INTO sessions (id, user_name, node_name, state, created_at, ticket_expires_at, lease_renewed_at, channel)
                VALUES (?1, ?2, ?3, 'reserved', ?4, ?5, ?4, ?6)
                """,
                [.text(id), .text(user), .text(node.name), .millis(now), .millis(expiresAt), .text(channel)]
            )
            node.viewers += 1
            return .reserved(sessionID: id, node: node, ticketExpiresAt: expiresAt)
        }
    }

    public func activateSession(id: String, node: String, now: Date) async throws -> Bool {
        let rows = try await self.query(
            """
            UPDATE sessions SET state = 'active', lease_renewed_at = ?3
            WHERE id = ?1 AND node_name = ?2 AND state = 'reserved' AND ticket_expires_at > ?3
            RETURNING id
            """,
            [.text(id), .text(node), .millis(now)]
        )
        return !rows.isEmpty
    }

    public func releaseSession(id: String) async throws -> Bool {
        !(try await self.query("DELETE FROM sessions WHERE id = ?1 RETURNING id", [.text(id)])).isEmpty
    }

    public func sweepExpired(now: Date, nodeTTL: Duration) async throws -> Int {
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval)
        let rows = try await self.query(
            """
            DELETE FROM sessions
            WHERE (state = 'reserved' AND ticket_expires_at <= ?1)
               OR node_name IN (SELECT name FROM nodes WHERE last_heartbeat < ?2)
            RETURNING id
            """,
            [.millis(now), .millis(cutoff)]
        )
        return rows.count
    }

    @discardableResult
    public func setSessionChannel(id: String, channel: String) async throws -> Bool {
        !(try await self.query(
            "UPDATE sessions SET channel = ?2 WHERE id = ?1 RETURNING id", [.text(id), .text(channel)]
        )).isEmpty
    }

    public func viewersByChannel(now: Date, nodeTTL: Duration) async throws -> [String: Int] {
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval)
        let rows = try await self.query(
            """
            SELECT s.channel AS channel, count(*) AS n FROM sessions s JOIN nodes n ON n.name = s.node_name
            WHERE n.last_heartbeat >= ?2
              AND ((s.state = 'reserved' AND s.ticket_expires_at > ?1)
                OR s.state = 'active')
            GROUP BY s.channel
            """,
            [.millis(now), .millis(cutoff)]
        )
        var counts: [String: Int] = [:]
        for row in rows {
            guard let channel = row.column("channel")?.string else { throw EmoStoreError.corruptRow("sessions: \(row)") }
            counts[channel] = row.column("n")?.integer ?? 0
        }
        return counts
    }

    // MARK: Channels

    @discardableResult
    public func addChannel(name: String, now: Date) async throws -> Bool {
        !(try await self.query(
            "INSERT INTO channels (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING RETURNING name",
            [.text(name), .millis(now)]
        )).isEmpty
    }

    public func ensureChannels(_ names: [String], now: Date) async throws {
        guard !names.isEmpty else { return }
        try await self.withWriteTransaction { connection in
            for name in Set(names) {
                _ = try await connection.query(
                    "INSERT INTO channels (name, created_at) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING",
                    [.text(name), .millis(now)]
                )
            }
        }
    }

    public func channel(named name: String) async throws -> ChannelRecord? {
        try await self.query("SELECT name, created_at FROM channels WHERE name = ?1", [.text(name)])
            .first.map(Self.channelRecord)
    }

    public func listChannels() async throws -> [ChannelRecord] {
        try await self.query("SELECT name, created_at FROM channels ORDER BY name").map(Self.channelRecord)
    }

    public func removeChannel(named name: String) async throws -> Bool {
        !(try await self.query("DELETE FROM channels WHERE name = ?1 RETURNING name", [.text(name)])).isEmpty
    }

    // MARK: Row decoding

    static func channelRecord(_ row: SQLiteRow) throws -> ChannelRecord {
        guard let name = row.column("name")?.string, let created = row.column("created_at")?.integer else {
            throw EmoStoreError.corruptRow("channels: \(row)")
        }
        return ChannelRecord(name: name, createdAt: Date(emoMillis: Int64(created)))
    }

    static func nodeStatuses(_ connection: SQLiteConnection, now: Date, nodeTTL: Duration) async throws -> [NodeStatus] {
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval)
        let rows = try await connection.query(
            """
            SELECT n.name, n.ws_url, n.sse_url, n.capacity, n.last_heartbeat,
                   n.last_heartbeat >= ?2 AS live,
                   (SELECT count(*) FROM sessions s
                    WHERE s.node_name = n.name
                      AND ((s.state = 'reserved' AND s.ticket_expires_at > ?1)
                        OR s.state = 'active')) AS viewers
            FROM nodes n ORDER BY n.name
            """,
            [.millis(now), .millis(cutoff)]
        )
        return try rows.map { row in
            guard
                let name = row.column("name")?.string,
                let wsURL = row.column("ws_url")?.string,
                let sseURL = row.column("sse_url")?.string,
                let capacity = row.column("capacity")?.integer,
                let heartbeat = row.column("last_heartbeat")?.integer,
                let live = row.column("live")?.integer,
                let viewers = row.column("viewers")?.integer
            else { throw EmoStoreError.corruptRow("nodes: \(row)") }
            return NodeStatus(
                name: name, wsURL: wsURL, sseURL: sseURL, capacity: Int(capacity),
                viewers: live != 0 ? Int(viewers) : 0,
                lastHeartbeat: Date(emoMillis: Int64(heartbeat)), isLive: live != 0
            )
        }
    }

    static func userRecord(_ row: SQLiteRow) throws -> UserRecord {
        guard
            let name = row.column("name")?.string,
            let hash = row.column("password_hash")?.string,
            let created = row.column("created_at")?.integer
        else { throw EmoStoreError.corruptRow("users: \(row)") }
        return UserRecord(name: name, passwordHash: hash, tier: try Self.tier(row.column("tier")), createdAt: Date(emoMillis: Int64(created)))
    }

    static func tier(_ data: SQLiteData?) throws -> Tier {
        guard let raw = data?.integer, let tier = Tier(rawValue: Int(raw)) else {
            throw EmoStoreError.corruptRow("tier \(String(describing: data))")
        }
        return tier
    }
}

extension SQLiteData {
    /// A timestamp as integer milliseconds since 1970.
    static func millis(_ date: Date) -> SQLiteData { .integer(SQLiteInt64(date.emoMillis)) }
}
