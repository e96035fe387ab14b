import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import PipelineTopics
import Publisher
import Testing

/// The audit's comparison: bursts against the `emoji` records between their ledgers.
@Suite struct PublicationAuditTests {
    func record(_ channel: String = "main", seq: UInt64, _ counts: [(String, Int)], ledger: [Int: Int64], correction: Bool = false)
        -> BurstRecord
    {
        let emojis = counts.map { EmojiCount(emoji: $0.0, count: $0.1, scaled: 1) }
        let burst = Burst(
            channel: channel, seq: seq, windowStart: 0, windowEnd: 2_000, total: counts.map(\.1).reduce(0, +),
            emojis: emojis, correction: correction)
        return BurstRecord(burst, ledger: ledger, epoch: "e1")
    }

    func reactions(_ emojis: String..., channel: String = "main") -> [Reaction] {
        emojis.map { Reaction(userID: "u", emoji: $0, clientTimestamp: 0, channel: channel) }
    }

    @Test func burstsFromTheFirstAgreeWithTheRecordsBelowTheNewestLedger() {
        var bursts = PublicationAudit.BurstTally()
        bursts.add(record(seq: 1, [("😀", 2)], ledger: [0: 1, 1: 1]), offset: 0)
        bursts.add(record(seq: 2, [("😀", 1), ("🔥", 1)], ledger: [0: 2, 1: 1]), offset: 1)
        // A correction: a late record of partition 1.
        bursts.add(record(seq: 3, [("🔥", 1)], ledger: [0: 2, 1: 2], correction: true), offset: 2)
        var records = PublicationAudit.RecordTally(from: bursts.startLedger, through: bursts.endLedger)
        records.add(partition: 0, offset: 0, reactions: reactions("😀"))
        records.add(partition: 1, offset: 0, reactions: reactions("😀"))
        records.add(partition: 0, offset: 1, reactions: reactions("😀", "🔥"))
        records.add(partition: 1, offset: 1, reactions: reactions("🔥"))
        records.add(partition: 1, offset: 2, reactions: reactions("🎉"))  // not published yet
        #expect(records.reachedEnd)
        let report = PublicationAudit.report(bursts: bursts, records: records)
        #expect(report.consistent, "\(report)")
        #expect(report.published == ["main": ["😀": 3, "🔥": 2]])
        #expect(report.pending == ["1": 1])
        #expect(report.bursts == 3)
    }

    @Test func aLostReactionIsFound() {
        var bursts = PublicationAudit.BurstTally()
        bursts.add(record(seq: 1, [("😀", 1)], ledger: [0: 2]), offset: 0)
        var records = PublicationAudit.RecordTally(from: bursts.startLedger, through: bursts.endLedger)
        records.add(partition: 0, offset: 0, reactions: reactions("😀"))
        records.add(partition: 0, offset: 1, reactions: reactions("😢"))
        let report = PublicationAudit.report(bursts: bursts, records: records)
        #expect(!report.consistent)
        #expect(report.logged == ["main": ["😀": 1, "😢": 1]])
        #expect(report.problems.isEmpty)
    }

    @Test func withoutTheFirstBurstsItComparesFromTheLedgerOfTheFirstAppendHeld() {
        var bursts = PublicationAudit.BurstTally()
        // Two bursts of one append (same ledger) at offsets 5 and 6: both precede the starting ledger.
        bursts.add(record("a", seq: 9, [("😀", 50)], ledger: [0: 10]), offset: 5)
        bursts.add(record("b", seq: 4, [("😀", 70)], ledger: [0: 10]), offset: 6)
        bursts.add(record("a", seq: 10, [("😢", 1)], ledger: [0: 11]), offset: 7)
        #expect(bursts.startLedger == [0: 10] && bursts.endLedger == [0: 11])
        var records = PublicationAudit.RecordTally(from: bursts.startLedger, through: bursts.endLedger)
        records.add(partition: 0, offset: 9, reactions: reactions("😀"))  // before the range
        records.add(partition: 0, offset: 10, reactions: reactions("😢", channel: "a"))
        let report = PublicationAudit.report(bursts: bursts, records: records)
        #expect(report.consistent, "\(report)")
        #expect(report.bursts == 1 && report.published == ["a": ["😢": 1]])
    }

    @Test func recordsTheLogNoLongerHoldsMakeTheAuditInconclusive() {
        var bursts = PublicationAudit.BurstTally()
        bursts.add(record(seq: 1, [("😀", 2)], ledger: [0: 2]), offset: 0)
        var records = PublicationAudit.RecordTally(from: bursts.startLedger, through: bursts.endLedger)
        records.add(partition: 0, offset: 1, reactions: reactions("😀", "😀"))  // offset 0 is gone
        let report = PublicationAudit.report(bursts: bursts, records: records)
        #expect(!report.consistent)
        #expect(report.problems == ["partition 0: offsets 0..<1 are no longer held"])
    }

    @Test func anAuditOfTheEmbeddedLogReadsBothTopicsToTheirEnd() async throws {
        let log = EmbeddedEventLog()
        for spec in PipelineTopics.specs(reactionPartitions: 1) { try await log.ensureTopic(spec) }
        try await log.append([reactions("😀", "😀"), reactions("🔥")], to: PipelineTopics.reactions)
        try await log.append([reactions("😢")], to: PipelineTopics.reactions)  // not published yet
        try await log.append([record(seq: 1, [("😀", 2), ("🔥", 1)], ledger: [0: 2])], to: PipelineTopics.bursts)
        let report = try await PublicationAudit(log: log, logger: Logger(label: "t"), metrics: NOOPMetricsHandler.instance).run()
        #expect(report.consistent, "\(report)")
        #expect(report.published == ["main": ["😀": 2, "🔥": 1]])
        #expect(report.pending == ["0": 1])
    }
}
