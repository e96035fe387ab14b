import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import PipelineTopics

/// Proves that what the publisher published equals what the `emoji` topic holds, by counting again.
///
/// Every burst carries the publisher's ledger: per `emoji` partition, the offset below which every record is counted
/// in the bursts published so far (bursts appended together share the ledger reached after all of them). So between
/// two ledgers `A` (of an earlier append) and `Z` (of the newest), the bursts appended after `A` must hold exactly the
/// reactions of the records in `[A[p], Z[p])` of every partition `p`, per channel and emoji — corrections included.
/// The audit reads the bursts topic up to its end, takes `A` as the start of the log (when it holds the bursts from
/// the first, or from the topic incarnation's first) or else the ledger of the first append it holds, reads the
/// `emoji` records of `[A, Z)`, counts them as the processors do, and compares.
public struct PublicationAudit: Sendable {
    /// What the audit found.
    public struct Report: Sendable, Codable, Equatable {
        /// Published and logged counts agree for every channel and emoji, and nothing kept the audit from seeing all.
        public var consistent: Bool
        /// Why the audit could not compare everything (records or bursts no longer held), if anything.
        public var problems: [String]
        /// Bursts compared (appended after the starting ledger).
        public var bursts: Int
        /// The ledgers compared between, per `emoji` partition: records `from[p] ..< through[p]`.
        public var from: [String: Int64]
        public var through: [String: Int64]
        /// Reactions per channel and emoji: in the bursts, and in the records of that range.
        public var published: [String: [String: Int]]
        public var logged: [String: [String: Int]]
        /// Records already in the log past the newest ledger (not published yet), per partition.
        public var pending: [String: Int64]
        /// Records of the range that do not decode (the processors skip them too).
        public var undecodable: Int
        /// Requests of the range that repeated an earlier request's idempotency key (counted once, like the processors).
        public var repeatedRequests: Int = 0
        /// The `emoji` topic incarnation the ledgers belong to.
        public var epoch: String?
    }

    /// The bursts topic as read, reduced to what the comparison needs.
    public struct BurstTally: Sendable {
        var start: [Int: Int64] = [:]
        var end: [Int: Int64] = [:]
        var published: [String: [String: Int]] = [:]
        var bursts = 0
        var epoch: String?
        var problems: [String] = []
        var seenAny = false
        /// The ledger of the first append held when earlier bursts are gone: its bursts precede the starting ledger.
        var skipping: [Int: Int64]?

        public init() {}

        /// The ledger the comparison starts from, and the newest.
        public var startLedger: [Int: Int64] { start }
        public var endLedger: [Int: Int64] { end }

        /// Adds one burst record read at `offset` of the bursts topic, in log order.
        public mutating func add(_ record: BurstRecord, offset: Int64) {
            let burst: Burst
            do {
                burst = try JSONDecoder().decode(Burst.self, from: Data(record.frame.readableBytesView))
            } catch {
                problems.append("burst seq \(record.seq) of '\(record.channel)' has a frame that does not decode")
                return
            }
            if !seenAny {
                seenAny = true
                epoch = record.epoch
                if offset > 0 {
                    // Earlier bursts are gone: compare from the ledger of the first append held.
                    start = record.ledger
                    end = record.ledger
                    skipping = record.ledger
                }
            } else if record.epoch != epoch {
                // The emoji topic was created again: its offsets, and the ledger, start over.
                epoch = record.epoch
                start = [:]
                published = [:]
                bursts = 0
                skipping = nil
            }
            if let ledger = skipping {
                if record.ledger == ledger { return }
                skipping = nil
            }
            end = record.ledger
            bursts += 1
            for entry in burst.emojis {
                published[burst.channel, default: [:]][entry.emoji, default: 0] += entry.count
            }
        }
    }

    /// The `emoji` records as read, counted within the range.
    public struct RecordTally: Sendable {
        let start: [Int: Int64]
        let end: [Int: Int64]
        var logged: [String: [String: Int]] = [:]
        var pending: [Int: Int64] = [:]
        var undecodable = 0
        var firstOffset: [Int: Int64] = [:]
        var next: [Int: Int64] = [:]
        /// Per partition, the idempotency keys seen: a repeated request counts nothing, as in the processors.
        var keys: [Int: RequestKeyHistory] = [:]
        /// Requests within the range that repeated an earlier one's idempotency key.
        public private(set) var repeated = 0

        public init(from start: [Int: Int64], through end: [Int: Int64]) {
            self.start = start
            self.end = end
        }

        /// Adds one record of `partition` at `offset` (nil value: it does not decode), with its idempotency `key`
        /// and log `timestamp` when it has one.
        public mutating func add(
            partition: Int, offset: Int64, timestamp: EpochMillis = 0, key: [UInt8]? = nil, reactions: [Reaction]?
        ) {
            if firstOffset[partition] == nil { firstOffset[partition] = offset }
            next[partition] = offset + 1
            var isRepeat = false
            if let key {
                isRepeat = keys[partition, default: RequestKeyHistory()].record(key, offset: offset, timestamp: timestamp)
            }
            let from = start[partition] ?? 0
            let through = end[partition] ?? 0
            guard offset >= from else { return }
            guard offset < through else {
                pending[partition, default: 0] += 1
                return
            }
            guard let reactions else {
                undecodable += 1
                return
            }
            guard !isRepeat else {
                repeated += 1
                return
            }
            for reaction in reactions {
                logged[reaction.channel, default: [:]][reaction.emoji, default: 0] += 1
            }
        }

        /// Whether every partition has been read up to the end of the range.
        public var reachedEnd: Bool {
            end.allSatisfy { partition, through in through == 0 || (next[partition] ?? 0) >= through }
        }

        /// Ranges the log no longer holds (its retention passed them).
        var missing: [String] {
            Set(start.keys).union(end.keys).sorted().compactMap { partition -> String? in
                let from = start[partition] ?? 0
                let through = end[partition] ?? 0
                guard through > from else { return nil }
                guard let first = firstOffset[partition] else {
                    return "partition \(partition): no record of \(from)..<\(through) is held"
                }
                return first > from ? "partition \(partition): offsets \(from)..<\(first) are no longer held" : nil
            }
        }
    }

    /// Compares the two tallies.
    public static func report(bursts: BurstTally, records: RecordTally) -> Report {
        var problems = bursts.problems + records.missing
        if !records.reachedEnd { problems.append("the emoji topic ended before the newest ledger") }
        let published = bursts.published.filter { !$0.value.isEmpty }
        let logged = records.logged.filter { !$0.value.isEmpty }
        return Report(
            consistent: problems.isEmpty && published == logged, problems: problems, bursts: bursts.bursts,
            from: keyed(bursts.start), through: keyed(bursts.end), published: published, logged: logged,
            pending: keyed(records.pending), undecodable: records.undecodable, repeatedRequests: records.repeated,
            epoch: bursts.epoch)
    }

    static func keyed(_ values: [Int: Int64]) -> [String: Int64] {
        Dictionary(uniqueKeysWithValues: values.map { ("\($0.key)", $0.value) })
    }

    let log: any EventLog
    let logger: Logger
    let metrics: any MetricsFactory
    /// How long one poll may wait for records.
    let pollWait: Duration

    public init(log: any EventLog, logger: Logger, metrics: any MetricsFactory, pollWait: Duration = .milliseconds(500)) {
        self.log = log
        self.logger = logger
        self.metrics = metrics
        self.pollWait = pollWait
    }

    /// Reads the bursts up to the end of their topic, then the `emoji` records of their ledgers' range, and compares.
    public func run() async throws -> Report {
        let bursts = try await log.withReader(
            PipelineTopics.bursts, ConsumerOptions(topic: PipelineTopics.bursts.name, start: .earliest, clientID: "emostream-audit"),
            logger: logger, metrics: metrics
        ) { reader in
            var tally = BurstTally()
            while true {
                let poll = try await reader.poll(maxWait: pollWait)
                for record in poll.records {
                    if let value = record.value { tally.add(value, offset: record.offset) }
                }
                if poll.records.isEmpty, poll.caughtUp ?? true { return tally }
            }
        }
        let records = try await log.withReader(
            PipelineTopics.reactions,
            ConsumerOptions(topic: PipelineTopics.reactions.name, start: .earliest, clientID: "emostream-audit"),
            logger: logger, metrics: metrics
        ) { reader in
            var tally = RecordTally(from: bursts.start, through: bursts.end)
            while !tally.reachedEnd {
                let poll = try await reader.poll(maxWait: pollWait)
                for record in poll.records {
                    tally.add(
                        partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                        key: record.key.map { Array($0.readableBytesView) }, reactions: record.value)
                }
                if poll.records.isEmpty, poll.caughtUp ?? true { break }
            }
            return tally
        }
        return Self.report(bursts: bursts, records: records)
    }
}
