import EmoStore
import Foundation
import PostgresNIO
import Testing

/// The PostgreSQL store's deadlines: an operation that queues behind others while the server keeps answering
/// waits on; one that hears nothing for the store's silence limit fails `unavailable` (answered `503` by the HTTP
/// layer). A user's row lock is held, outside the deadlines, by a transaction of a second store standing in for a
/// slow competing gateway; that store (15 s limit) also prepares the database, so only the operations under test
/// run on the store with the short limit, whose connections are opened beforehand.
@Suite("PostgreSQL deadlines")
struct PostgresDeadlineTests {
    let t0 = TestStores.t0
    /// Short enough for a quick test, long enough that a loaded CI machine still answers the keep-alive queries of
    /// the first test (every 50 ms) well within it (0.4 s was not: one run saw a gap that long).
    let silence = Duration.seconds(1)
    let clock = ContinuousClock()

    /// Runs `body` while an open transaction holds the row lock of user `name`, then commits.
    func holdingUserRow<T: Sendable>(
        of store: PostgresEmoStore, name: String, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await store.client.withConnection { connection in
            try await connection.query("BEGIN", logger: TestStores.logger)
            try await connection.query("SELECT tier FROM users WHERE name = \(name) FOR UPDATE", logger: TestStores.logger)
            do {
                let result = try await body()
                try await connection.query("COMMIT", logger: TestStores.logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: TestStores.logger)
                throw error
            }
        }
    }

    typealias Reservation = Task<(Result<ReservationOutcome, any Error>, ContinuousClock.Instant), Never>

    /// A reservation of `viewer` started in its own task, with the instant it finished.
    func startReservation(on store: PostgresEmoStore) -> Reservation {
        Task {
            let result: Result<ReservationOutcome, any Error>
            do { result = .success(try await store.reserve("viewer", at: self.t0)) } catch { result = .failure(error) }
            return (result, self.clock.now)
        }
    }

    /// Registers a node and the user `viewer` through `setup`, and opens three connections in the pool of `store`.
    func prepare(_ store: PostgresEmoStore, through setup: PostgresEmoStore) async throws {
        try await setup.registerNodes([("n1", 10)], now: t0)
        _ = try await setup.createUser(name: "viewer", passwordHash: "h", tier: .one, now: t0)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    try await store.client.withConnection { connection in
                        _ = try await connection.query("SELECT pg_sleep(0.2)", logger: TestStores.logger)
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    @Test func aReservationQueuedBehindALockWaitsWhileTheServerKeepsAnswering() async throws {
        try await TestStores.withPostgres(instances: 2, silenceLimits: [.seconds(15), silence]) { stores in
            let (setup, store) = (stores[0], stores[1])
            try await prepare(store, through: setup)
            let (reservation, releasedAt) = try await holdingUserRow(of: setup, name: "viewer") {
                let start = self.clock.now
                let reservation = self.startReservation(on: store)
                // Other operations of the store keep getting answers for 4 silence limits (4 s).
                while self.clock.now - start < self.silence * 4 {
                    #expect(try await store.user(named: "viewer") != nil)
                    try await Task.sleep(for: .milliseconds(50))
                }
                return (reservation, self.clock.now)
            }
            let (result, finished) = await reservation.value
            #expect(try result.get().sessionID != nil)
            #expect(finished >= releasedAt)  // it waited for the lock, past 4 silence limits, and then reserved
        }
    }

    @Test func aReservationThatHearsNothingFailsUnavailableAfterTheSilenceLimit() async throws {
        try await TestStores.withPostgres(instances: 2, silenceLimits: [.seconds(15), silence]) { stores in
            let (setup, store) = (stores[0], stores[1])
            try await prepare(store, through: setup)
            let (reservation, releasedAt) = try await holdingUserRow(of: setup, name: "viewer") {
                let reservation = self.startReservation(on: store)
                try await Task.sleep(for: self.silence * 4)  // no other traffic
                return (reservation, self.clock.now)
            }
            let (result, finished) = await reservation.value
            #expect(finished < releasedAt)  // it gave up while the lock was still held
            #expect(throws: EmoStoreError.self) { try result.get() }
            if case .failure(let error as EmoStoreError) = result, case .unavailable = error {} else {
                Issue.record("expected EmoStoreError.unavailable, got \(result)")
            }
            // Nothing was reserved by the abandoned attempt, and the store answers again.
            let nodes = try await store.nodes(now: t0, nodeTTL: .seconds(10))
            #expect(nodes.map(\.viewers) == [0])
            #expect(try await store.reserve("viewer", at: t0).sessionID != nil)
        }
    }
}
