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
        // 3: a reservation in one statement (see `reserveSession`): the same steps, locks and rule as before, run by
        // the server instead of a round trip per step; `p_limits[t]` is the device limit of tier `t`. A node's live
        // sessions come from a row counter instead of counting them all: `nodes.session_rows` counts the node's session
        // rows, kept by statement triggers on every insert and delete; its live sessions are those rows minus the ones
        // no longer live (ticket expired, lease lapsed), which partial indexes find without reading the live ones, so
        // a reservation costs the same with 10 or 10,000 viewers on the node. (Sessions never change node.)
        [
            "ALTER TABLE nodes ADD COLUMN session_rows BIGINT NOT NULL DEFAULT 0",
            "UPDATE nodes n SET session_rows = (SELECT count(*) FROM sessions s WHERE s.node_name = n.name)",
            "CREATE INDEX sessions_reserved_expiry_idx ON sessions (node_name, ticket_expires_at) WHERE state = 'reserved'",
            "CREATE INDEX sessions_active_lease_idx ON sessions (node_name, lease_renewed_at) WHERE state = 'active'",
            """
            CREATE FUNCTION emo_count_inserted_sessions() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                UPDATE nodes n SET session_rows = n.session_rows + d.rows
                FROM (SELECT node_name, count(*) AS rows FROM inserted GROUP BY node_name) d
                WHERE n.name = d.node_name;
                RETURN NULL;
            END
            $fn$
            """,
            """
            CREATE FUNCTION emo_count_deleted_sessions() RETURNS trigger LANGUAGE plpgsql AS $fn$
            BEGIN
                UPDATE nodes n SET session_rows = n.session_rows - d.rows
                FROM (SELECT node_name, count(*) AS rows FROM deleted GROUP BY node_name) d
                WHERE n.name = d.node_name;
                RETURN NULL;
            END
            $fn$
            """,
            """
            CREATE TRIGGER sessions_inserted AFTER INSERT ON sessions REFERENCING NEW TABLE AS inserted
            FOR EACH STATEMENT EXECUTE FUNCTION emo_count_inserted_sessions()
            """,
            """
            CREATE TRIGGER sessions_deleted AFTER DELETE ON sessions REFERENCING OLD TABLE AS deleted
            FOR EACH STATEMENT EXECUTE FUNCTION emo_count_deleted_sessions()
            """,
            """
            CREATE FUNCTION emo_expired_sessions(p_node TEXT, p_now TIMESTAMPTZ, p_cutoff TIMESTAMPTZ) RETURNS BIGINT
            LANGUAGE sql STABLE AS $fn$
                SELECT (SELECT count(*) FROM sessions s
                        WHERE s.node_name = p_node AND s.state = 'reserved' AND s.ticket_expires_at <= p_now)
                     + (SELECT count(*) FROM sessions s
                        WHERE s.node_name = p_node AND s.state = 'active' AND s.lease_renewed_at < p_cutoff)
            $fn$
            """,
            """
            CREATE FUNCTION emo_reserve_session(
                p_user TEXT, p_channel TEXT, p_now TIMESTAMPTZ, p_cutoff TIMESTAMPTZ, p_expires TIMESTAMPTZ, p_id TEXT,
                p_limits BIGINT[]
            ) RETURNS TABLE (
                r_outcome TEXT, r_limit BIGINT, r_node TEXT, r_ws_url TEXT, r_sse_url TEXT, r_capacity BIGINT,
                r_viewers BIGINT, r_heartbeat TIMESTAMPTZ
            ) LANGUAGE plpgsql AS $fn$
            DECLARE
                v_tier INTEGER;
                v_limit BIGINT;
                v_held BIGINT;
                v_full TEXT[] := '{}';
                v_node RECORD;
                v_found BOOLEAN;
                v_name TEXT;
                v_ws TEXT;
                v_sse TEXT;
                v_heartbeat TIMESTAMPTZ;
                v_best_viewers BIGINT;
                v_best_capacity BIGINT;
                v_capacity BIGINT;
                v_live BOOLEAN;
                v_viewers BIGINT;
            BEGIN
                -- 1. Lock the user: reservations of one user are serialised from here to COMMIT.
                SELECT u.tier INTO v_tier FROM users u WHERE u.name = p_user FOR UPDATE;
                IF NOT FOUND THEN
                    RETURN QUERY SELECT 'unknown_user'::text, NULL::bigint, NULL::text, NULL::text, NULL::text,
                        NULL::bigint, NULL::bigint, NULL::timestamptz;
                    RETURN;
                END IF;
                v_limit := p_limits[v_tier];
                -- 2. The user's live sessions on all nodes (a fresh snapshot, taken after the lock).
                SELECT count(*) INTO v_held FROM sessions s JOIN nodes n ON n.name = s.node_name
                WHERE s.user_name = p_user AND n.last_heartbeat >= p_cutoff
                  AND ((s.state = 'reserved' AND s.ticket_expires_at > p_now)
                    OR (s.state = 'active' AND s.lease_renewed_at >= p_cutoff));
                IF v_held >= v_limit THEN
                    RETURN QUERY SELECT 'tier_limit'::text, v_limit, NULL::text, NULL::text, NULL::text,
                        NULL::bigint, NULL::bigint, NULL::timestamptz;
                    RETURN;
                END IF;
                -- 3. The best node (Placement.choose: lowest viewers/capacity compared by cross-multiplication, ties
                --    by name), locked and counted again under the lock; a node that filled up meanwhile is released
                --    (the block's subtransaction rolls back) and the next best is tried.
                LOOP
                    v_found := false;
                    FOR v_node IN
                        SELECT n.name, n.ws_url, n.sse_url, n.capacity::bigint AS capacity, n.last_heartbeat,
                               n.session_rows - emo_expired_sessions(n.name, p_now, p_cutoff) AS viewers
                        FROM nodes n
                        WHERE n.last_heartbeat >= p_cutoff AND n.capacity > 0 AND NOT (n.name = ANY (v_full))
                        ORDER BY n.name COLLATE "C"
                    LOOP
                        CONTINUE WHEN v_node.viewers >= v_node.capacity;
                        IF NOT v_found OR v_node.viewers * v_best_capacity < v_best_viewers * v_node.capacity THEN
                            v_found := true;
                            v_name := v_node.name;
                            v_ws := v_node.ws_url;
                            v_sse := v_node.sse_url;
                            v_heartbeat := v_node.last_heartbeat;
                            v_best_viewers := v_node.viewers;
                            v_best_capacity := v_node.capacity;
                        END IF;
                    END LOOP;
                    IF NOT v_found THEN
                        RETURN QUERY SELECT 'no_capacity'::text, v_limit, NULL::text, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::timestamptz;
                        RETURN;
                    END IF;
                    BEGIN
                        SELECT n.capacity, n.last_heartbeat >= p_cutoff, n.session_rows INTO v_capacity, v_live, v_viewers
                        FROM nodes n WHERE n.name = v_name FOR UPDATE;
                        v_viewers := v_viewers - emo_expired_sessions(v_name, p_now, p_cutoff);
                        IF v_live IS NOT TRUE OR v_viewers >= v_capacity THEN
                            RAISE EXCEPTION 'node % filled up', v_name USING ERRCODE = 'EMFUL';
                        END IF;
                        INSERT INTO sessions (id, user_name, node_name, state, created_at, ticket_expires_at,
                                              lease_renewed_at, channel)
                        VALUES (p_id, p_user, v_name, 'reserved', p_now, p_expires, p_now, p_channel);
                        RETURN QUERY SELECT 'reserved'::text, v_limit, v_name, v_ws, v_sse, v_capacity, v_viewers + 1,
                            v_heartbeat;
                        RETURN;
                    EXCEPTION WHEN SQLSTATE 'EMFUL' THEN
                        v_full := v_full || v_name;
                    END;
                END LOOP;
            END
            $fn$
            """,
        ],
        // 4: reservations in batches, and an active session lives exactly as long as its node.
        // - A node's heartbeat renewed the lease of every active session on it (an UPDATE of all of them every 2 s:
        //   5,000 rows a second for 10,000 viewers, each a new row version and index entry), and a session can only be
        //   active on a node whose heartbeat is at least as new as its activation, so the lease said no more than the
        //   node's heartbeat. Heartbeats now touch the node row only; `lease_renewed_at` keeps the activation time.
        // - `emo_reserve_sessions` reserves for a whole batch of requests (the `PlacementStore` steps for each, in
        //   order) in one statement: it locks the batch's users and then every live node, each set in name order, so
        //   two batches never wait for each other in a cycle, and with every candidate node locked the counts it reads
        //   stay exact until COMMIT. One transaction per batch instead of per reservation: all reservations placing on
        //   one node serialised on its row lock, held until the gateway's COMMIT arrived.
        [
            "DROP INDEX sessions_active_lease_idx",
            """
            CREATE OR REPLACE FUNCTION emo_expired_sessions(p_node TEXT, p_now TIMESTAMPTZ, p_cutoff TIMESTAMPTZ) RETURNS BIGINT
            LANGUAGE sql STABLE AS $fn$
                SELECT count(*) FROM sessions s
                WHERE s.node_name = p_node AND s.state = 'reserved' AND s.ticket_expires_at <= p_now
            $fn$
            """,
            "DROP FUNCTION emo_reserve_session(TEXT, TEXT, TIMESTAMPTZ, TIMESTAMPTZ, TIMESTAMPTZ, TEXT, BIGINT[])",
            """
            CREATE FUNCTION emo_reserve_sessions(
                p_users TEXT[], p_channels TEXT[], p_ids TEXT[], p_nows TIMESTAMPTZ[], p_cutoffs TIMESTAMPTZ[],
                p_expires TIMESTAMPTZ[], p_limits BIGINT[]
            ) RETURNS TABLE (
                r_index INTEGER, r_outcome TEXT, r_limit BIGINT, r_node TEXT, r_ws_url TEXT, r_sse_url TEXT,
                r_capacity BIGINT, r_viewers BIGINT, r_heartbeat TIMESTAMPTZ
            ) LANGUAGE plpgsql AS $fn$
            DECLARE
                v_nodes TEXT[];
                v_tier INTEGER;
                v_limit BIGINT;
                v_held BIGINT;
                v_node RECORD;
                v_found BOOLEAN;
                v_name TEXT;
                v_ws TEXT;
                v_sse TEXT;
                v_heartbeat TIMESTAMPTZ;
                v_best_viewers BIGINT;
                v_best_capacity BIGINT;
            BEGIN
                -- 1. Lock the users, then the nodes live for any request (re-checked under the lock), each in name order.
                PERFORM 1 FROM (
                    SELECT u.name FROM users u WHERE u.name = ANY (p_users) ORDER BY u.name COLLATE "C" FOR UPDATE
                ) locked;
                SELECT coalesce(array_agg(locked.name), '{}') INTO v_nodes FROM (
                    SELECT n.name FROM nodes n WHERE n.last_heartbeat >= (SELECT min(c) FROM unnest(p_cutoffs) c) AND n.capacity > 0
                    ORDER BY n.name COLLATE "C" FOR UPDATE
                ) locked;
                FOR i IN 1 .. coalesce(array_length(p_users, 1), 0) LOOP
                    SELECT u.tier INTO v_tier FROM users u WHERE u.name = p_users[i];
                    IF NOT FOUND THEN
                        RETURN QUERY SELECT i, 'unknown_user'::text, NULL::bigint, NULL::text, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::timestamptz;
                        CONTINUE;
                    END IF;
                    v_limit := p_limits[v_tier];
                    -- 2. The user's live sessions on all nodes, those this batch reserved included.
                    SELECT count(*) INTO v_held FROM sessions s JOIN nodes n ON n.name = s.node_name
                    WHERE s.user_name = p_users[i] AND n.last_heartbeat >= p_cutoffs[i]
                      AND ((s.state = 'reserved' AND s.ticket_expires_at > p_nows[i]) OR s.state = 'active');
                    IF v_held >= v_limit THEN
                        RETURN QUERY SELECT i, 'tier_limit'::text, v_limit, NULL::text, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::timestamptz;
                        CONTINUE;
                    END IF;
                    -- 3. The best locked node (Placement.choose: lowest viewers/capacity compared by cross-multiplication,
                    --    ties by name) with room; its count includes the sessions this batch put there.
                    v_found := false;
                    FOR v_node IN
                        SELECT n.name, n.ws_url, n.sse_url, n.capacity::bigint AS capacity, n.last_heartbeat,
                               n.session_rows - emo_expired_sessions(n.name, p_nows[i], p_cutoffs[i]) AS viewers
                        FROM nodes n WHERE n.name = ANY (v_nodes) AND n.last_heartbeat >= p_cutoffs[i]
                        ORDER BY n.name COLLATE "C"
                    LOOP
                        CONTINUE WHEN v_node.viewers >= v_node.capacity;
                        IF NOT v_found OR v_node.viewers * v_best_capacity < v_best_viewers * v_node.capacity THEN
                            v_found := true;
                            v_name := v_node.name;
                            v_ws := v_node.ws_url;
                            v_sse := v_node.sse_url;
                            v_heartbeat := v_node.last_heartbeat;
                            v_best_viewers := v_node.viewers;
                            v_best_capacity := v_node.capacity;
                        END IF;
                    END LOOP;
                    IF NOT v_found THEN
                        RETURN QUERY SELECT i, 'no_capacity'::text, v_limit, NULL::text, NULL::text, NULL::text,
                            NULL::bigint, NULL::bigint, NULL::timestamptz;
                        CONTINUE;
                    END IF;
                    INSERT INTO sessions (id, user_name, node_name, state, created_at, ticket_expires_at,
                                          lease_renewed_at, channel)
                    VALUES (p_ids[i], p_users[i], v_name, 'reserved', p_nows[i], p_expires[i], p_nows[i], p_channels[i]);
                    RETURN QUERY SELECT i, 'reserved'::text, v_limit, v_name, v_ws, v_sse, v_best_capacity,
                        v_best_viewers + 1, v_heartbeat;
                END LOOP;
            END
            $fn$
            """,
        ],
    ]

    /// An arbitrary constant naming the advisory lock that serialises concurrent migrations.
    static let migrationLockKey = 0x456D_6F53_746F_7265 // "EmoStore"

    public func migrate() async throws {
        let applied = try await self.withTransaction { connection in
            _ = try await self.answered(connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: self.logger)).collect()
            try await self.answered(connection.query("""
                CREATE TABLE IF NOT EXISTS schema_version (
                    version INTEGER PRIMARY KEY,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """, logger: self.logger))
            var current = 0
            for try await version in try await self.answered(connection.query(
                "SELECT coalesce(max(version), 0)::int8 FROM schema_version", logger: self.logger
            )).decode(Int.self) {
                current = version
            }
            var applied: [Int] = []
            for (index, statements) in Self.migrations.enumerated() where index + 1 > current {
                for statement in statements {
                    try await self.answered(connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger))
                }
                try await self.answered(connection.query("INSERT INTO schema_version (version) VALUES (\(index + 1))", logger: self.logger))
                applied.append(index + 1)
            }
            return applied
        }
        if !applied.isEmpty {
            self.logger.info("Migrated PostgreSQL store", metadata: ["versions": "\(applied)"])
        }
    }
}
