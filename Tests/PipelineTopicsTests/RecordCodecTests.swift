import EmoCore
import EventLog
import Foundation
import NIOCore
import PipelineTopics
import Testing

@Suite struct RecordCodecTests {
    let reaction = Reaction(userID: "ana.b@x", emoji: "😀", clientTimestamp: 1_700_000_000_123, channel: "cricket")
    let report = ProcessorReport(
        processor: "processor-2", watermark: 1_700_000_002_000, partitions: [3, 4],
        windows: [
            WindowCounts(
                start: 1_700_000_000_000, end: 1_700_000_002_000,
                partitions: [
                    PartitionCounts(partition: 3, channels: ["main": ["😀": 300, "😢": 2], "cricket": ["🔥": 7]]),
                    PartitionCounts(partition: 4),
                ])
        ])
    let burst = Burst(
        channel: "cricket", seq: 42, windowStart: 1_700_000_000_000, windowEnd: 1_700_000_002_000,
        counts: ["🔥": 1200, "😀": 3], scaleDown: ScaleDown())

    func encoded<Value>(_ value: Value, _ topic: Topic<Value>) -> ByteBuffer {
        topic.records([value])[0].value
    }

    @Test func reactionsRoundTripInACompactVersionedRecord() throws {
        let bytes = encoded(reaction, PipelineTopics.reactions)
        #expect(bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 1)
        #expect(bytes.readableBytes < reaction.jsonText().utf8.count / 2)
        #expect(try ReactionCodec().decode(bytes) == reaction)
        #expect(PipelineTopics.reactions.records([reaction])[0].key == ByteBuffer(string: "ana.b@x"))
    }

    @Test func reportsRoundTrip() throws {
        #expect(try ProcessorReportCodec().decode(encoded(report, PipelineTopics.windowReports)) == report)
        let empty = ProcessorReport(processor: "p", watermark: 0, partitions: [], windows: [])
        #expect(try ProcessorReportCodec().decode(encoded(empty, PipelineTopics.windowReports)) == empty)
    }

    @Test func burstsCarryTheViewerFrameUnchanged() throws {
        let record = BurstRecord(burst)
        let decoded = try BurstRecordCodec().decode(encoded(record, PipelineTopics.bursts))
        #expect(decoded == record)
        #expect(String(buffer: decoded.frame) == burst.jsonText())
        #expect(decoded.total == 1203 && decoded.seq == 42 && decoded.channel == "cricket")
        #expect(try JSONDecoder().decode(Burst.self, from: decoded.frame) == burst)
    }

    @Test func recordsWrittenAsJSONByTheReleaseBeforeAreRead() throws {
        #expect(try ReactionCodec().decode(ByteBuffer(string: reaction.jsonText())) == reaction)
        let reportJSON = try JSONEncoder().encode(report)
        #expect(try ProcessorReportCodec().decode(ByteBuffer(data: reportJSON)) == report)
        let legacy = try BurstRecordCodec().decode(ByteBuffer(data: try JSONEncoder().encode(burst)))
        #expect(legacy == BurstRecord(burst))
    }

    @Test func everyTruncationAndUnknownVersionIsAnErrorNotACrash() throws {
        let buffers = [
            encoded(reaction, PipelineTopics.reactions), encoded(report, PipelineTopics.windowReports),
            encoded(BurstRecord(burst), PipelineTopics.bursts),
        ]
        let decoders: [(ByteBuffer) throws -> Void] = [
            { _ = try ReactionCodec().decode($0) }, { _ = try ProcessorReportCodec().decode($0) },
            { _ = try BurstRecordCodec().decode($0) },
        ]
        for (buffer, decode) in zip(buffers, decoders) {
            for length in 0..<buffer.readableBytes {
                #expect(throws: RecordDecodingError.self) { try decode(buffer.getSlice(at: buffer.readerIndex, length: length)!) }
            }
            var trailing = buffer
            trailing.writeInteger(UInt8(0))
            #expect(throws: RecordDecodingError.self) { try decode(trailing) }
            var future = buffer
            future.setInteger(UInt8(9), at: future.readerIndex)
            #expect(throws: RecordDecodingError.unknownVersion(9)) { try decode(future) }
            #expect(throws: RecordDecodingError.self) { try decode(ByteBuffer(string: "{\"not\":\"it\"}")) }
        }
    }

    @Test func hostileCountsAndInvalidUTF8AreRejected() throws {
        var huge = ByteBuffer()
        huge.writeInteger(UInt8(1))
        huge.writeInteger(UInt16(1))
        huge.writeString("p")
        huge.writeInteger(Int64(0))
        huge.writeInteger(UInt32.max)  // partitions claimed: more than the record could hold
        #expect(throws: RecordDecodingError.self) { try ProcessorReportCodec().decode(huge) }

        var invalid = ByteBuffer()
        invalid.writeInteger(UInt8(1))
        invalid.writeInteger(UInt16(2))
        invalid.writeBytes([0xC3, 0x28])  // not UTF-8
        #expect(throws: RecordDecodingError.self) { try ReactionCodec().decode(invalid) }
    }

    @Test func oneAppendSharesOneBufferAcrossItsRecords() throws {
        let reactions = (0..<100).map { Reaction(userID: "u\($0)", emoji: "😀", clientTimestamp: Int64($0)) }
        let records = PipelineTopics.reactions.records(reactions)
        #expect(try records.map { try ReactionCodec().decode($0.value) } == reactions)
    }
}
