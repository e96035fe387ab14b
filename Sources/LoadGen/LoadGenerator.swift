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
        /// The channel to send to when `channels` is 1.
        public var channel: String = ChannelName.defaultName
        /// Channels to spread the reactions over: 1 sends everything to `channel`; N > 1 sends to `ch-1` … `ch-N`
        /// with Zipf-skewed popularity (`ch-1` the most popular).
        public var channels: Int = 1
        /// The Zipf exponent `s`: channel k gets a share proportional to 1 / k^s.
        public var zipfExponent: Double = 1
        /// Channels (the most popular first) the generator also watches, one SSE viewer each, to check that every
        /// accepted reaction is counted in their bursts. Needs accounts: it registers its own.
        public var watch: Int = 0
        /// After sending, how long to wait for the last windows to reach the watchers.
        public var drainTimeout: Duration = .seconds(15)

        public init() {}

        /// The channels reactions go to, the most popular first.
        public var channelNames: [String] {
            channels <= 1 ? [channel] : (1...channels).map { "ch-\($0)" }
        }
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
    /// channel → what was sent, accepted and (for watched channels) counted in bursts.
    let tallies: Mutex<[String: ChannelTally]>
    let sampler: ZipfSampler

    public init(configuration: Configuration) {
        self.configuration = configuration
        let names = configuration.channelNames
        self.sampler = ZipfSampler(count: names.count, exponent: configuration.zipfExponent)
        self.tallies = Mutex(Dictionary(uniqueKeysWithValues: names.map { ($0, ChannelTally()) }))
    }

    public var totals: Stats { stats.withLock { $0 } }

    /// Runs until `duration` passes or the task is cancelled; `report` is called about once a second.
    public func run(report: @escaping @Sendable (Duration, Stats) -> Void) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let watched = Array(configuration.channelNames.prefix(configuration.watch))
            try await withThrowingTaskGroup(of: Void.self) { watchers in
                if !watched.isEmpty {
                    // Every watcher has its hello before the first reaction is sent, so it sees every window.
                    try await startWatchers(for: watched, client: client, in: &watchers)
                }
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
                report(ContinuousClock.now - start, self.totals)
                if !watched.isEmpty { await drain(watched) }
                watchers.cancelAll()
            }
        } catch is CancellationError {}
        try await client.shutdown()
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

    /// A POST's events and how many of them go to each channel.
    struct Batch: Sendable {
        var events: [String] = []
        var channels: [String: Int] = [:]
    }

    func makeBatches(tick: Int) -> [Batch] {
        let now = EpochMillis.now()
        let names = configuration.channelNames
        var generator = SystemRandomNumberGenerator()
        var batches: [Batch] = []
        var batch = Batch()
        var userIndex = tick * 7919
        for (emoji, count) in configuration.mix {
            for _ in 0..<count {
                let user = "user-\(userIndex % max(configuration.users, 1))"
                userIndex += 1
                let channel = names[names.count == 1 ? 0 : sampler.sample(using: &generator)]
                batch.events.append(Reaction(userID: user, emoji: emoji, clientTimestamp: now, channel: channel).jsonText())
                batch.channels[channel, default: 0] += 1
                if batch.events.count == configuration.batchSize {
                    batches.append(batch)
                    batch = Batch()
                }
            }
        }
        if !batch.events.isEmpty { batches.append(batch) }
        return batches
    }

    func post(_ batch: Batch, client: HTTPClient) async {
        let accepted = await post(batch.events, client: client)
        tallies.withLock { tallies in
            for (channel, count) in batch.channels {
                tallies[channel, default: ChannelTally()].sent += count
                if accepted == batch.events.count { tallies[channel, default: ChannelTally()].accepted += count }
            }
        }
    }

    @discardableResult
    func post(_ batch: [String], client: HTTPClient) async -> Int {
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
        return accepted
    }
}
