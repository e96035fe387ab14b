import Foundation
import NIOCore
import Testing

@testable import KafkaWire

/// Record batches a broker should never send, found by the fuzz target `Fuzz/FuzzKafka`: each is a protocol
/// violation, never a trap, a huge allocation, or records the consumer would skip or read twice.
@Suite struct RecordBatchMalformedTests {
    /// A batch with the given header fields around `records` (each a record's bytes without its length), its CRC
    /// valid.
    static func batch(
        baseOffset: Int64 = 0, lastOffsetDelta: Int32, baseTimestamp: Int64 = 1000, records: [[UInt8]]
    ) -> ByteBuffer {
        var w = KafkaWriter()
        w.writeInt64(baseOffset)
        w.writeInt32(0)  // length, patched
        w.writeInt32(-1)
        w.writeInt8(2)
        w.writeUInt32(0)  // crc, patched
        w.writeInt16(0)
        w.writeInt32(lastOffsetDelta)
        w.writeInt64(baseTimestamp)
        w.writeInt64(baseTimestamp)
        w.writeInt64(-1)
        w.writeInt16(-1)
        w.writeInt32(-1)
        w.writeInt32(Int32(records.count))
        for record in records {
            w.writeVarint(Int32(record.count))
            w.buffer.writeBytes(record)
        }
        w.buffer.setInteger(Int32(w.buffer.readableBytes - 12), at: 8)
        let crc = w.buffer.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
        w.buffer.setInteger(crc, at: 17)
        return w.buffer
    }

    /// A record with a null key and value and no headers (unless `headerCount` says otherwise).
    static func record(timestampDelta: Int64 = 0, offsetDelta: Int32, headerCount: Int32 = 0) -> [UInt8] {
        var w = KafkaWriter()
        w.writeInt8(0)
        w.writeVarlong(timestampDelta)
        w.writeVarint(offsetDelta)
        w.writeVarint(-1)
        w.writeVarint(-1)
        w.writeVarint(headerCount)
        return Array(w.buffer.readableBytesView)
    }

    func expectViolation(_ data: ByteBuffer, verifyCRC: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let decoded = try RecordBatch.decode(data, fetchOffset: 0, verifyCRC: verifyCRC)
            Issue.record("decoded \(decoded.records.count) records", sourceLocation: sourceLocation)
        } catch let error as KafkaError {
            #expect(error.code == .protocolViolation, sourceLocation: sourceLocation)
        } catch {
            Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func wellFormedBatchesStillDecode() throws {
        let data = Self.batch(
            baseOffset: 7, lastOffsetDelta: 3,
            records: [Self.record(offsetDelta: 0), Self.record(timestampDelta: 5, offsetDelta: 3, headerCount: 0)])
        let decoded = try RecordBatch.decode(data, fetchOffset: 0)
        #expect(decoded.records.map(\.offset) == [7, 10])  // a compacted batch: offset deltas with a gap
        #expect(decoded.records.map(\.timestamp) == [1000, 1005])
        #expect(decoded.nextOffset == 11)
    }

    /// The fuzzer's first find (input minus its selector byte): a base offset of 0x3000_0000_0000 with the CRC
    /// unchecked; its records claimed offsets above the batch's last offset, which `nextOffset` then skipped past.
    @Test func fuzzFindingRecordsBeyondTheBatchsLastOffset() {
        let input = Data(
            base64Encoded:
                "DwAAMAAAAAAAAAAATv////8CEKt4RQAAAAAAAQAAAAAAAAPoAAAAAAAAA+3//////////////////wAAAAIYAAAACG1haW4EdjEAHgAKAgEEdjIEAmgCeAJuAQAAAAAAAAACAAAAOP////8CzLEY0wAAAAAAAAAAAAAAAAfQAAAAAAAAB9D//////////////////wAAAAEMAAAAAQEA"
        )!
        expectViolation(ByteBuffer(bytes: input.dropFirst()), verifyCRC: false)
    }

    @Test func anOffsetDeltaAboveTheLastOffsetDeltaIsAViolation() {
        expectViolation(Self.batch(lastOffsetDelta: 0, records: [Self.record(offsetDelta: 0), Self.record(offsetDelta: 1)]))
    }

    @Test func offsetDeltasThatDoNotIncreaseAreAViolation() {
        expectViolation(Self.batch(lastOffsetDelta: 1, records: [Self.record(offsetDelta: 1), Self.record(offsetDelta: 1)]))
        expectViolation(Self.batch(lastOffsetDelta: 1, records: [Self.record(offsetDelta: -1)]))
    }

    @Test func aNegativeLastOffsetDeltaIsAViolation() {
        expectViolation(Self.batch(lastOffsetDelta: -5, records: []))
    }

    /// Used to trap: `baseOffset + lastOffsetDelta + 1` overflowed.
    @Test func offsetsBeyondInt64AreAViolation() {
        expectViolation(Self.batch(baseOffset: .max, lastOffsetDelta: 0, records: [Self.record(offsetDelta: 0)]))
        expectViolation(Self.batch(baseOffset: .max - 1, lastOffsetDelta: 1, records: [Self.record(offsetDelta: 0)]))
    }

    /// Used to trap: `baseTimestamp + timestampDelta` overflowed.
    @Test func timestampsBeyondInt64AreAViolation() {
        expectViolation(
            Self.batch(lastOffsetDelta: 0, baseTimestamp: .max, records: [Self.record(timestampDelta: 1, offsetDelta: 0)]))
        expectViolation(
            Self.batch(lastOffsetDelta: 0, baseTimestamp: .min, records: [Self.record(timestampDelta: -1, offsetDelta: 0)]))
    }

    /// Used to reserve room for 2^31 - 1 headers (about 100 GB) before reading the first one.
    @Test func aHeaderCountBeyondTheRecordIsAViolation() {
        expectViolation(Self.batch(lastOffsetDelta: 0, records: [Self.record(offsetDelta: 0, headerCount: .max)]))
    }

    @Test func overlappingBatchesAreAViolation() {
        var data = Self.batch(baseOffset: 10, lastOffsetDelta: 1, records: [Self.record(offsetDelta: 0)])
        var second = Self.batch(baseOffset: 11, lastOffsetDelta: 0, records: [Self.record(offsetDelta: 0)])
        data.writeBuffer(&second)
        expectViolation(data)
    }
}
