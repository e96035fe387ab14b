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

    /// The single-reaction records of the release before one record per request.
    let singleReactions = Topic<Reaction>(name: "emoji", codec: ReactionCodec())

    func encoded<Value>(_ value: Value, _ topic: Topic<Value>) -> ByteBuffer {
        topic.records([value])[0].value
    }

    @Test func reactionsRoundTripInACompactVersionedRecord() throws {
        let bytes = encoded(reaction, singleReactions)
        #expect(bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) == 1)
        #expect(bytes.readableBytes < reaction.jsonText().utf8.count / 2)
        #expect(try ReactionCodec().decode(bytes) == reaction)
        // And the batch codec of the `emoji` topic reads such a record as a batch of one.
        #expect(try ReactionBatchCodec().decode(bytes) == [reaction])
    }

    @Test func oneRequestIsOneUnkeyedRecordHoldingEveryReaction() throws {
        let batch = (0..<1000).map { Reaction(userID: "u\($0 % 7)", emoji: $0 % 3 == 0 ? "😀" : "🔥", clientTimestamp: Int64($0), channel: "cricket") }
        let records = PipelineTopics.reactions.records([batch])
        #expect(records.count == 1)
        #expect(records[0].key == nil)  // spread over partitions by request, not by user
        #expect(records[0].value.getInteger(at: records[0].value.readerIndex, as: UInt8.self) == 2)
        #expect(records[0].value.readableBytes < batch.map { $0.jsonText().utf8.count }.reduce(0, +) / 2)
        #expect(try ReactionBatchCodec().decode(records[0].value) == batch)
        #expect(try ReactionBatchCodec().decode(encoded([], PipelineTopics.reactions)) == [])
        #expect(PipelineTopics.reactions.spec(partitions: 8).timestamps == .logAppendTime)
    }

    @Test func reportsRoundTrip() throws {
        #expect(try ProcessorReportCodec().decode(encoded(report, PipelineTopics.windowReports)) == report)
        let empty = ProcessorReport(processor: "p", watermark: 0, partitions: [], windows: [])
        #expect(try ProcessorReportCodec().decode(encoded(empty, PipelineTopics.windowReports)) == empty)
        var ranged = report
        ranged.windows[0].partitions[0].from = 120
        ranged.windows[0].partitions[0].to = 4_000_000_123
        #expect(try ProcessorReportCodec().decode(encoded(ranged, PipelineTopics.windowReports)) == ranged)
        #expect(ranged.windows[0].partitions[0].offsets == 120..<4_000_000_123)
    }

    @Test func burstsCarryThePublishersLedgerAndCorrectionsSayWhatTheyAre() throws {
        let record = BurstRecord(burst, ledger: [0: 17, 7: 123_456])
        #expect(try BurstRecordCodec().decode(encoded(record, PipelineTopics.bursts)).ledger == [0: 17, 7: 123_456])
        var correction = burst
        correction.correction = true
        #expect(correction.jsonText().hasSuffix(#","correction":true}"#))
        #expect(!burst.jsonText().contains("correction"))
        #expect(try JSONDecoder().decode(Burst.self, from: Data(correction.jsonText().utf8)) == correction)
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
        #expect(try ReactionBatchCodec().decode(ByteBuffer(string: reaction.jsonText())) == [reaction])
        let reportJSON = try JSONEncoder().encode(report)
        #expect(try ProcessorReportCodec().decode(ByteBuffer(data: reportJSON)) == report)
        let legacy = try BurstRecordCodec().decode(ByteBuffer(data: try JSONEncoder().encode(burst)))
        #expect(legacy == BurstRecord(burst))
    }

    @Test func everyTruncationAndUnknownVersionIsAnErrorNotACrash() throws {
        let buffers = [
            encoded(reaction, singleReactions), encoded(report, PipelineTopics.windowReports),
            encoded(BurstRecord(burst, ledger: [0: 17, 3: 4_000_000_000]), PipelineTopics.bursts),
            encoded([reaction, reaction], PipelineTopics.reactions),
        ]
        let decoders: [(ByteBuffer) throws -> Void] = [
            { _ = try ReactionCodec().decode($0) }, { _ = try ProcessorReportCodec().decode($0) },
            { _ = try BurstRecordCodec().decode($0) }, { _ = try ReactionBatchCodec().decode($0) },
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

    /// Found by the fuzz target `Fuzz/FuzzRecords`: a legacy JSON report whose partition had `from` but no `to`
    /// decoded, and encoded to a record the codec refused. A legacy record is held to the binary format's rules, so
    /// that whatever a codec decodes it encodes again without trapping, to a record meaning the same.
    @Test func legacyJSONRecordsAreHeldToTheBinaryFormatsRules() throws {
        let fuzzFinding = #"{"partitions":[0,1,7],"watermark":1800000000000,"processor":"processor-1","windows":[{"partitions":[{"tgo":590,"partition":0,"channels":{"main":{"😢":120,"😀":450}},"from":10},{"partition":7,"channels":{"cricket":{"🔥":7}}}],"end":1800000000000,"start":1799999998000}],"epoch":"5f1e-22"}"#
        #expect(throws: RecordDecodingError.self) { try ProcessorReportCodec().decode(ByteBuffer(string: fuzzFinding)) }

        func reportJSON(_ edit: (inout ProcessorReport) -> Void) throws -> ByteBuffer {
            var edited = report
            edit(&edited)
            return ByteBuffer(data: try JSONEncoder().encode(edited))
        }
        let refused = [
            try reportJSON { $0.windows[0].partitions[0].channels["main"]!["😀"] = -1 },  // binary: "a negative count"
            try reportJSON { $0.windows[0].partitions[0].from = 5 },
            try reportJSON { $0.windows[0].partitions[0].from = 9; $0.windows[0].partitions[0].to = 8 },
            try reportJSON { $0.partitions = [1 << 40] },  // encoding it as Int32 would trap
            try reportJSON { $0.windows[0].partitions[1].partition = -(1 << 33) },
            try reportJSON { $0.processor = String(repeating: "p", count: 70_000) },  // would trap the encoder
        ]
        for record in refused {
            #expect(throws: RecordDecodingError.self) { try ProcessorReportCodec().decode(record) }
        }
        // An empty epoch is no epoch, as in the binary format.
        #expect(try ProcessorReportCodec().decode(try reportJSON { $0.epoch = "" }) == report)

        var long = reaction
        long.userID = String(repeating: "u", count: 70_000)
        #expect(throws: RecordDecodingError.self) { try ReactionCodec().decode(ByteBuffer(string: long.jsonText())) }
        #expect(throws: RecordDecodingError.self) { try ReactionBatchCodec().decode(ByteBuffer(string: long.jsonText())) }

        var negative = burst
        negative.total = -3
        #expect(throws: RecordDecodingError.self) {
            try BurstRecordCodec().decode(ByteBuffer(data: try JSONEncoder().encode(negative)))
        }
    }

    @Test func oneAppendSharesOneBufferAcrossItsRecords() throws {
        let reactions = (0..<100).map { Reaction(userID: "u\($0)", emoji: "😀", clientTimestamp: Int64($0)) }
        let records = singleReactions.records(reactions)
        #expect(try records.map { try ReactionCodec().decode($0.value) } == reactions)
    }
}
