import NIOCore
import Testing

@testable import KafkaWire

@Suite struct RecordBatchTests {
    /// Two records, derived by hand from the RecordBatch v2 layout (DefaultRecordBatch/DefaultRecord):
    /// record 0: key "k", value "v", timestamp 1000, no headers;
    /// record 1: null key, value "hi", timestamp 1005, header "h" with a null value.
    static let fixture = bytes(
        """
        0000000000000000  -- base offset 0
        00000046          -- length 70 (82 - 12)
        ffffffff          -- partition leader epoch -1
        02                -- magic 2
        dff9c025          -- CRC-32C of everything after this field (computed bitwise, independent of CRC32C.swift)
        0000              -- attributes: no compression, CreateTime
        00000001          -- last offset delta 1
        00000000000003e8  -- base timestamp 1000
        00000000000003ed  -- max timestamp 1005
        ffffffffffffffff  -- producer id -1
        ffff              -- producer epoch -1
        ffffffff          -- base sequence -1
        00000002          -- 2 records
        10 00 00 00 02 6b 02 76 00
        16 00 0a 02 01 04 6869 02 02 68 01
        """.split(separator: "\n").map { line in
            line.split(separator: "-", maxSplits: 1).first.map(String.init) ?? ""
        }.joined())

    // The record lines: length 8 | attrs 0 | ts delta 0 | offset delta 0 | key len 1 "k" | value len 1 "v" | 0 headers
    //                   length 11 | attrs 0 | ts delta 5 (0a) | offset delta 1 (02) | key null (01) | value len 2 "hi" |
    //                   1 header (02): key len 1 "h", value null (01)

    static let records = [
        OutgoingRecord(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "v"), headers: [], timestamp: 1000),
        OutgoingRecord(
            key: nil, value: ByteBuffer(string: "hi"), headers: [KafkaHeader(key: "h", value: nil)], timestamp: 1005),
    ]

    @Test func crc32cCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([UInt8]()) == 0)
        // Longer than the 8-byte slicing stride, odd length.
        let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var bitwise: UInt32 = 0xFFFF_FFFF
        for b in data {
            bitwise ^= UInt32(b)
            for _ in 0..<8 { bitwise = bitwise & 1 != 0 ? (bitwise >> 1) ^ 0x82F6_3B78 : bitwise >> 1 }
        }
        #expect(CRC32C.checksum(data) == ~bitwise)
    }

    @Test func encodesTheHandDerivedFixture() {
        #expect(Self.fixture.count == 82)
        let encoded = RecordBatch.encode(Self.records)
        #expect(Array(encoded.readableBytesView) == Self.fixture)
    }

    @Test func decodesTheFixture() throws {
        let decoded = try RecordBatch.decode(ByteBuffer(bytes: Self.fixture), fetchOffset: 0)
        #expect(decoded.nextOffset == 2)
        #expect(decoded.records.count == 2)
        #expect(decoded.records[0].offset == 0)
        #expect(decoded.records[0].key == ByteBuffer(string: "k"))
        #expect(decoded.records[0].value == ByteBuffer(string: "v"))
        #expect(decoded.records[0].timestamp == 1000)
        #expect(decoded.records[1].offset == 1)
        #expect(decoded.records[1].key == nil)
        #expect(decoded.records[1].value == ByteBuffer(string: "hi"))
        #expect(decoded.records[1].headers == [KafkaHeader(key: "h", value: nil)])
        #expect(decoded.records[1].timestamp == 1005)
    }

    /// The batch as a broker returns it: base offset assigned (CRC does not cover it).
    static func batch(baseOffset: Int64, values: [String], attributes: Int16 = 0) -> ByteBuffer {
        var buffer = RecordBatch.encode(
            values.enumerated().map {
                OutgoingRecord(key: nil, value: ByteBuffer(string: $0.element), headers: [], timestamp: 5000 + Int64($0.offset))
            })
        buffer.setInteger(baseOffset, at: 0)
        if attributes != 0 {
            buffer.setInteger(attributes, at: 21)
            let crc = buffer.withUnsafeReadableBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[21...])) }
            buffer.setInteger(crc, at: 17)
        }
        return buffer
    }

    @Test func partialTrailingBatchIsIgnored() throws {
        var data = Self.batch(baseOffset: 10, values: ["a", "b"])
        var second = Self.batch(baseOffset: 12, values: ["c", "d", "e"])
        second.moveWriterIndex(to: second.writerIndex - 5)
        data.writeBuffer(&second)
        let decoded = try RecordBatch.decode(data, fetchOffset: 10)
        #expect(decoded.records.map(\.offset) == [10, 11])
        #expect(decoded.nextOffset == 12)
    }

    @Test func recordsBelowTheFetchOffsetAreSkipped() throws {
        var data = Self.batch(baseOffset: 0, values: ["a", "b", "c"])
        var second = Self.batch(baseOffset: 3, values: ["d", "e"])
        data.writeBuffer(&second)
        let decoded = try RecordBatch.decode(data, fetchOffset: 1)
        #expect(decoded.records.map(\.offset) == [1, 2, 3, 4])
        #expect(decoded.records.map { String(buffer: $0.value!) } == ["b", "c", "d", "e"])
        #expect(decoded.nextOffset == 5)
    }

    @Test func controlBatchesAreSkipped() throws {
        var data = Self.batch(baseOffset: 0, values: ["a"])
        var control = Self.batch(baseOffset: 1, values: ["marker"], attributes: 0x30)  // transactional + control
        var after = Self.batch(baseOffset: 2, values: ["b"])
        data.writeBuffer(&control)
        data.writeBuffer(&after)
        let decoded = try RecordBatch.decode(data, fetchOffset: 0)
        #expect(decoded.records.map(\.offset) == [0, 2])
        #expect(decoded.nextOffset == 3)
    }

    @Test func corruptBatchIsRejected() {
        var data = Self.batch(baseOffset: 0, values: ["abc"])
        data.setInteger(UInt8(0x41), at: data.writerIndex - 2)
        #expect(throws: KafkaError.self) { try RecordBatch.decode(data, fetchOffset: 0) }
    }

    @Test func compressedBatchIsReportedClearly() {
        let data = Self.batch(baseOffset: 0, values: ["abc"], attributes: 0x01)
        do {
            _ = try RecordBatch.decode(data, fetchOffset: 0)
            Issue.record("expected an error")
        } catch let error as KafkaError {
            #expect(error.code == .unsupportedCompression)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
