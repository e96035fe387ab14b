import AsyncHTTPClient
import EmoCore
import Foundation
import NIOCore
import NIOFoundationCompat
import Synchronization

/// The original system's scaletest, grown up: sends bursts of reactions (by default 300 😀 + 200 😢 every
/// 500 ms) from many simulated users to `POST /api/emojis`, and reports what was sent and accepted.
public final class LoadGenerator: Sendable {
    public struct Configuration: Sendable {
        public var url: String = "http://127.0.0.1:8080"
        /// Reactions per tick, by emoji.
        public var mix: [(emoji: String, count: Int)] = [("😀", 300), ("😢", 200)]
        public var interval: Duration = .milliseconds(500)
        public var users: Int = 1000
        /// Events per POST; a tick's reactions are split into batches of this size.
        public var batchSize: Int = 500
        /// Stop after this long (nil: until cancelled).
        public var duration: Duration?
        public var channel: String = ChannelName.defaultName

        public init() {}
    }

    /// Running totals.
    public struct Stats: Sendable, Equatable {
        public var sent = 0
        public var accepted = 0
        public var errors = 0
        public var requests = 0
    }

    let configuration: Configuration
    let stats = Mutex(Stats())

    public init(configuration: Configuration) {
        self.configuration = configuration
    }

    public var totals: Stats { stats.withLock { $0 } }

    /// Runs until `duration` passes or the task is cancelled; `report` is called about once a second.
    public func run(report: @escaping @Sendable (Duration, Stats) -> Void) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let start = ContinuousClock.now
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    while !Task.isCancelled {
                        try await Task.sleep(for: .seconds(1))
                        report(ContinuousClock.now - start, self.totals)
                    }
                }
                group.addTask { try await self.send(client: client, start: start) }
                try await group.next()
                group.cancelAll()
            }
        } catch is CancellationError {}
        try await client.shutdown()
        report(ContinuousClock.now - start, self.totals)
    }

    func send(client: HTTPClient, start: ContinuousClock.Instant) async throws {
        var tick = 0
        var next = start
        while !Task.isCancelled {
            if let duration = configuration.duration, ContinuousClock.now - start >= duration { return }
            let batches = makeBatches(tick: tick)
            await withTaskGroup(of: Void.self) { group in
                for batch in batches {
                    group.addTask { await self.post(batch, client: client) }
                }
            }
            tick += 1
            next = next.advanced(by: configuration.interval)
            try await Task.sleep(until: next, clock: .continuous)
        }
    }

    func makeBatches(tick: Int) -> [[String]] {
        let now = EpochMillis.now()
        var events: [String] = []
        var userIndex = tick * 7919
        for (emoji, count) in configuration.mix {
            for _ in 0..<count {
                let user = "user-\(userIndex % max(configuration.users, 1))"
                userIndex += 1
                events.append(
                    Reaction(userID: user, emoji: emoji, clientTimestamp: now, channel: configuration.channel).jsonText())
            }
        }
        return stride(from: 0, to: events.count, by: configuration.batchSize).map {
            Array(events[$0..<min($0 + configuration.batchSize, events.count)])
        }
    }

    func post(_ batch: [String], client: HTTPClient) async {
        var request = HTTPClientRequest(url: configuration.url + "/api/emojis")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: "[" + batch.joined(separator: ",") + "]"))
        var accepted = 0
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 16)
            if response.status == .accepted,
                let object = try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                let count = object["accepted"] as? Int
            {
                accepted = count
            }
        } catch {}
        stats.withLock { stats in
            stats.requests += 1
            stats.sent += batch.count
            stats.accepted += accepted
            if accepted != batch.count { stats.errors += batch.count - accepted }
        }
    }
}
