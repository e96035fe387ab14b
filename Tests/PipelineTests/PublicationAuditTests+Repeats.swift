import EmoCore
import Publisher
import Testing

extension PublicationAuditTests {
    /// The audit judges repeated requests by the processors' rule.
    @Test func aRequestRepeatedByItsIdempotencyKeyIsCountedOnceAsTheProcessorsDo() {
        var bursts = PublicationAudit.BurstTally()
        bursts.add(record(seq: 1, [("😀", 2)], ledger: [0: 2]), offset: 0)
        bursts.add(record(seq: 2, [("🔥", 1)], ledger: [0: 6]), offset: 1)
        var records = PublicationAudit.RecordTally(from: bursts.startLedger, through: bursts.endLedger)
        let key = Array("k-1".utf8)
        records.add(partition: 0, offset: 0, timestamp: 1_000, key: key, reactions: reactions("😀"))
        records.add(partition: 0, offset: 1, timestamp: 1_100, reactions: reactions("😀"))
        records.add(partition: 0, offset: 2, timestamp: 1_200, key: key, reactions: reactions("😀"))  // a repeat
        records.add(partition: 0, offset: 3, timestamp: 1_300, key: Array("k-2".utf8), reactions: reactions("🔥"))
        records.add(partition: 0, offset: 4, timestamp: 1_400, key: Array("k-2".utf8), reactions: reactions("🔥"))  // a repeat
        records.add(partition: 0, offset: 5, timestamp: 1_500, key: key, reactions: reactions("😀"))  // still one
        let report = PublicationAudit.report(bursts: bursts, records: records)
        #expect(report.logged == ["main": ["😀": 2, "🔥": 1]])
        #expect(report.repeatedRequests == 3)
        #expect(report.consistent, "\(report)")
    }
}
