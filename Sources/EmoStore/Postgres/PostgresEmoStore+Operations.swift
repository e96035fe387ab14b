import Foundation
import PostgresNIO

extension PostgresEmoStore {
    // MARK: Users

    public func createUser(name: String, passwordHash: String, tier: Tier, now: Date) async throws -> UserRecord {
        let createdAt = now.emoTruncated
        let rows = try await self.query(
            """
            INSERT INTO users (name, password_hash, tier, created_at) VALUES (\(name), \(passwordHash), \(tier.rawValue), \(createdAt))
            ON CONFLICT (name) DO NOTHING RETURNING name
            """,
            logger: self.logger
        ).collect()
        guard !rows.isEmpty else { throw EmoStoreError.nameTaken }
        return UserRecord(name: name, passwordHash: passwordHash, tier: tier, createdAt: createdAt)
    }

    public func user(named name: String) async throws -> UserRecord? {
        try await self.users(
            self.query(
                "SELECT name, password_hash, tier, created_at FROM users WHERE name = \(name)", logger: self.logger
            )
        ).first
    }

    public func listUsers() async throws -> [UserRecord] {
        try await self.users(
            self.query("SELECT name, password_hash, tier, created_at FROM users ORDER BY name", logger: self.logger)
        )
    }

    public func removeUser(named name: String) async throws -> Bool {
        // Deleting the user row first locks it (as a reservation would), then cascades to the sessions.
        try await self.withTransaction { connection in
            let rows = try await self.answered(connection.query("DELETE FROM users WHERE name = \(name) RETURNING name", logger: self.logger)).collect()
            try await self.answered(connection.query("DELETE FROM sessions WHERE user_name = \(name)", logger: self.logger))
            return !rows.isEmpty
        }
    }

    public func setTier(name: String, tier: Tier) async throws -> Bool {
        !(try await self.query(
            "UPDATE users SET tier = \(tier.rawValue) WHERE name = \(name) RETURNING name", logger: self.logger
        ).collect()).isEmpty
    }

    // MARK: Nodes

    public func registerNode(name: String, wsURL: String, sseURL: String, capacity: Int, now: Date) async throws {
        guard capacity >= 0 else { throw EmoStoreError.invalidArgument("node capacity must not be negative, got \(capacity)") }
        let now = now.emoTruncated
        try await self.withTransaction { connection in
            try await self.answered(connection.query(
                """
                INSERT INTO nodes (name, ws_url, sse_url, capacity, registered_at, last_heartbeat)
                VALUES (\(name), \(wsURL), \(sseURL), \(capacity), \(now), \(now))
                ON CONFLICT (name) DO UPDATE SET
                    ws_url = EXCLUDED.ws_url, sse_url = EXCLUDED.sse_url, capacity = EXCLUDED.capacity,
                    registered_at = EXCLUDED.registered_at, last_heartbeat = EXCLUDED.last_heartbeat
                """,
                logger: self.logger
            ))
            try await self.answered(connection.query("DELETE FROM sessions WHERE node_name = \(name)", logger: self.logger))
        }
    }

    @discardableResult
    public func heartbeat(node: String, now: Date) async throws -> Bool {
        let now = now.emoTruncated
        return !(try await self.query(
            "UPDATE nodes SET last_heartbeat = \(now) WHERE name = \(node) RETURNING name", logger: self.logger
        ).collect()).isEmpty
    }

    @discardableResult
    public func markNodeUnreachable(node: String) async throws -> Bool {
        let epoch = Date(emoMillis: 0)
        return try await self.withConnection { connection in
            !(try await self.answered(connection.query(
                "UPDATE nodes SET last_heartbeat = \(epoch) WHERE name = \(node) RETURNING name", logger: self.logger
            )).collect()).isEmpty
        }
    }

    public func nodes(now: Date, nodeTTL: Duration) async throws -> [NodeStatus] {
        try await self.withConnection { connection in
            try await self.nodeStatuses(connection, now: now, nodeTTL: nodeTTL)
        }
    }

    // MARK: Sessions

    public func sessionsByTier(now: Date, nodeTTL: Duration) async throws -> [Tier: Int] {
        let now = now.emoTruncated
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval).emoTruncated
        return try await self.withConnection { connection in
            var counts: [Tier: Int] = [:]
            for try await (tier, count) in try await self.answered(connection.query(
                """
                SELECT u.tier, count(*) FROM sessions s
                JOIN nodes n ON n.name = s.node_name JOIN users u ON u.name = s.user_name
                WHERE n.last_heartbeat >= \(cutoff)
                  AND ((s.state = 'reserved' AND s.ticket_expires_at > \(now))
                    OR s.state = 'active')
                GROUP BY u.tier
                """,
                logger: self.logger
            )).decode((Int, Int).self) {
                counts[try Self.tier(tier)] = count
            }
            return counts
        }
    }

    public func reserveSession(
        user: String, channel: String, now: Date, ticketTTL: Duration, nodeTTL: Duration
    ) async throws -> ReservationOutcome {
        let now = now.emoTruncated
        let request = ReservationRequest(
            user: user, channel: channel, id: Placement.newSessionID(), now: now,
            cutoff: now.addingTimeInterval(-nodeTTL.emoTimeInterval).emoTruncated,
            expiresAt: now.addingTimeInterval(ticketTTL.emoTimeInterval).emoTruncated)
        return try await self.reservations.submit(request) { batch in try await self.reserveSessions(batch) }
    }

    /// The reservations of one batch (see ``OperationBatcher``), in one statement (migration 4,
    /// `emo_reserve_sessions`) inside the store's transaction, which rolls back instead of committing when its callers
    /// were answered meanwhile.
    func reserveSessions(_ batch: [ReservationRequest]) async throws -> [ReservationOutcome] {
        let limits = (1...3).map { Tier(rawValue: $0)!.maxDevices }
        let (users, channels, ids) = (batch.map(\.user), batch.map(\.channel), batch.map(\.id))
        let (nows, cutoffs, expiries) = (batch.map(\.now), batch.map(\.cutoff), batch.map(\.expiresAt))
        return try await self.withTransaction { connection in
            let rows = try await self.answered(connection.query(
                """
                SELECT r_index, r_outcome, r_limit, r_node, r_ws_url, r_sse_url, r_capacity, r_viewers, r_heartbeat
                FROM emo_reserve_sessions(\(users), \(channels), \(ids), \(nows), \(cutoffs), \(expiries), \(limits))
                """,
                logger: self.logger))
            var outcomes = [ReservationOutcome?](repeating: nil, count: batch.count)
            for try await (index, outcome, limit, node, wsURL, sseURL, capacity, viewers, heartbeat) in rows.decode(
                (Int, String, Int?, String?, String?, String?, Int?, Int?, Date?).self)
            {
                guard outcomes.indices.contains(index - 1) else {
                    throw EmoStoreError.corruptRow("emo_reserve_sessions answered for request \(index) of \(batch.count)")
                }
                switch outcome {
                case "unknown_user":
                    outcomes[index - 1] = .unknownUser
                case "tier_limit":
                    outcomes[index - 1] = .tierLimit(limit: limit ?? 0)
                case "no_capacity":
                    outcomes[index - 1] = .noCapacity
                case "reserved":
                    guard let node, let wsURL, let sseURL, let capacity, let viewers, let heartbeat else { fallthrough }
                    outcomes[index - 1] = .reserved(
                        sessionID: batch[index - 1].id,
                        node: NodeStatus(
                            name: node, wsURL: wsURL, sseURL: sseURL, capacity: capacity, viewers: viewers,
                            lastHeartbeat: heartbeat.emoTruncated, isLive: true),
                        ticketExpiresAt: batch[index - 1].expiresAt)
                default:
                    throw EmoStoreError.corruptRow("emo_reserve_sessions answered \(outcome)")
                }
            }
            return try outcomes.map { outcome in
                guard let outcome else { throw EmoStoreError.corruptRow("emo_reserve_sessions left a request unanswered") }
                return outcome
            }
        }
    }

    public func activateSession(id: String, node: String, now: Date) async throws -> Bool {
        let request = ActivationRequest(id: id, node: node, now: now.emoTruncated)
        return try await self.activations.submit(request) { batch in try await self.activateSessions(batch) }
    }

    /// The activations of one batch (see ``OperationBatcher``) in one statement. A ticket presented twice in a batch
    /// is activated once, for its first request.
    func activateSessions(_ batch: [ActivationRequest]) async throws -> [Bool] {
        var seen = Set<String>()
        let first = batch.map { seen.insert($0.id).inserted }
        let unique = zip(batch, first).filter(\.1).map(\.0)
        let (ids, nodes, nows) = (unique.map(\.id), unique.map(\.node), unique.map(\.now))
        var activated = Set<String>()
        for try await id in try await self.query(
            """
            UPDATE sessions s SET state = 'active', lease_renewed_at = r.now
            FROM unnest(\(ids)::text[], \(nodes)::text[], \(nows)::timestamptz[]) AS r (id, node, now)
            WHERE s.id = r.id AND s.node_name = r.node AND s.state = 'reserved' AND s.ticket_expires_at > r.now
            RETURNING s.id
            """,
            logger: self.logger
        ).decode(String.self) {
            activated.insert(id)
        }
        return zip(batch, first).map { request, isFirst in isFirst && activated.contains(request.id) }
    }

    public func releaseSession(id: String) async throws -> Bool {
        !(try await self.query("DELETE FROM sessions WHERE id = \(id) RETURNING id", logger: self.logger).collect()).isEmpty
    }

    public func sweepExpired(now: Date, nodeTTL: Duration) async throws -> Int {
        let now = now.emoTruncated
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval).emoTruncated
        var deleted = 0
        for try await count in try await self.query(
            """
            WITH deleted AS (
                DELETE FROM sessions
                WHERE (state = 'reserved' AND ticket_expires_at <= \(now))
                   OR node_name IN (SELECT name FROM nodes WHERE last_heartbeat < \(cutoff))
                RETURNING 1
            )
            SELECT count(*) FROM deleted
            """,
            logger: self.logger
        ).decode(Int.self) {
            deleted = count
        }
        return deleted
    }

    @discardableResult
    public func setSessionChannel(id: String, channel: String) async throws -> Bool {
        !(try await self.query(
            "UPDATE sessions SET channel = \(channel) WHERE id = \(id) RETURNING id", logger: self.logger
        ).collect()).isEmpty
    }

    public func viewersByChannel(now: Date, nodeTTL: Duration) async throws -> [String: Int] {
        let now = now.emoTruncated
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval).emoTruncated
        var counts: [String: Int] = [:]
        for try await (channel, count) in try await self.query(
            """
            SELECT s.channel, count(*) FROM sessions s JOIN nodes n ON n.name = s.node_name
            WHERE n.last_heartbeat >= \(cutoff)
              AND ((s.state = 'reserved' AND s.ticket_expires_at > \(now))
                OR s.state = 'active')
            GROUP BY s.channel
            """,
            logger: self.logger
        ).decode((String, Int).self) {
            counts[channel] = count
        }
        return counts
    }

    // MARK: Channels

    @discardableResult
    public func addChannel(name: String, now: Date) async throws -> Bool {
        let now = now.emoTruncated
        return !(try await self.query(
            "INSERT INTO channels (name, created_at) VALUES (\(name), \(now)) ON CONFLICT (name) DO NOTHING RETURNING name",
            logger: self.logger
        ).collect()).isEmpty
    }

    public func ensureChannels(_ names: [String], now: Date) async throws {
        guard !names.isEmpty else { return }
        let now = now.emoTruncated
        let unique = Array(Set(names))
        try await self.query(
            "INSERT INTO channels (name, created_at) SELECT unnest(\(unique)::text[]), \(now) ON CONFLICT (name) DO NOTHING",
            logger: self.logger
        )
    }

    public func channel(named name: String) async throws -> ChannelRecord? {
        try await self.channels(
            self.query("SELECT name, created_at FROM channels WHERE name = \(name)", logger: self.logger)
        ).first
    }

    public func listChannels() async throws -> [ChannelRecord] {
        try await self.channels(self.query("SELECT name, created_at FROM channels ORDER BY name", logger: self.logger))
    }

    public func removeChannel(named name: String) async throws -> Bool {
        !(try await self.query(
            "DELETE FROM channels WHERE name = \(name) RETURNING name", logger: self.logger
        ).collect()).isEmpty
    }

    // MARK: Row decoding

    func channels(_ rows: PostgresRowSequence) async throws -> [ChannelRecord] {
        var channels: [ChannelRecord] = []
        for try await (name, createdAt) in rows.decode((String, Date).self) {
            channels.append(ChannelRecord(name: name, createdAt: createdAt.emoTruncated))
        }
        return channels
    }

    func nodeStatuses(_ connection: PostgresConnection, now: Date, nodeTTL: Duration) async throws -> [NodeStatus] {
        let now = now.emoTruncated
        let cutoff = now.addingTimeInterval(-nodeTTL.emoTimeInterval).emoTruncated
        var statuses: [NodeStatus] = []
        for try await (name, wsURL, sseURL, capacity, heartbeat, live, viewers) in try await self.answered(connection.query(
            """
            SELECT n.name, n.ws_url, n.sse_url, n.capacity, n.last_heartbeat, n.last_heartbeat >= \(cutoff),
                   n.session_rows - emo_expired_sessions(n.name, \(now), \(cutoff))
            FROM nodes n ORDER BY n.name
            """,
            logger: self.logger
        )).decode((String, String, String, Int, Date, Bool, Int).self) {
            statuses.append(NodeStatus(
                name: name, wsURL: wsURL, sseURL: sseURL, capacity: capacity,
                viewers: live ? viewers : 0, lastHeartbeat: heartbeat.emoTruncated, isLive: live
            ))
        }
        return statuses
    }

    func users(_ rows: PostgresRowSequence) async throws -> [UserRecord] {
        var users: [UserRecord] = []
        for try await (name, hash, tier, createdAt) in rows.decode((String, String, Int, Date).self) {
            users.append(UserRecord(name: name, passwordHash: hash, tier: try Self.tier(tier), createdAt: createdAt.emoTruncated))
        }
        return users
    }

    static func tier(_ raw: Int) throws -> Tier {
        guard let tier = Tier(rawValue: raw) else { throw EmoStoreError.corruptRow("tier \(raw)") }
        return tier
    }
}
