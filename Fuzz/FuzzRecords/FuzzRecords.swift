import EmoCore
import EventLog
import Foundation
import FuzzSupport
import NIOCore
import PipelineTopics

/// Fuzzes the pipeline's record codecs: every input is decoded by each of them (``ReactionCodec``,
/// ``ReactionBatchCodec``, ``ProcessorReportCodec``, ``BurstRecordCodec``), as a consumer decodes whatever a topic
/// holds. Decoding throws ``RecordDecodingError`` or returns a value; a value encodes (without trapping) to a record
/// that decodes to the same value, and encodes again to the same bytes.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRecords(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let record = ByteBuffer(bytes: UnsafeBufferPointer(start: start, count: count))
    roundTrip(ReactionCodec(), record)
    roundTrip(ReactionBatchCodec(), record)
    roundTrip(ProcessorReportCodec(), record)
    roundTrip(BurstRecordCodec(), record)
    return 0
}

func roundTrip<Codec: RecordCodec>(_ codec: Codec, _ record: ByteBuffer) where Codec.Value: Equatable {
    guard let value = try? codec.decode(record) else { return }
    var encoded = ByteBuffer()
    codec.encode(value, into: &encoded)
    let again: Codec.Value
    do {
        again = try codec.decode(encoded)
    } catch {
        FuzzCheck.require(false, "\(Codec.self): \(value) encodes to a record it cannot decode: \(error)")
        return
    }
    FuzzCheck.require(again == value, "\(Codec.self): \(value) decodes as \(again) after a round trip")
    var reencoded = ByteBuffer()
    codec.encode(again, into: &reencoded)
    FuzzCheck.require(reencoded == encoded, "\(Codec.self): \(value) encodes in two ways")
}

@main
enum FuzzRecords {
    static func main() {
        FuzzDriver.main(fuzzRecords) { directory in
            func write(_ name: String, _ bytes: ByteBuffer) throws {
                // A seed no codec reads would start the fuzzer from noise.
                let read = [
                    (try? ReactionBatchCodec().decode(bytes)) != nil, (try? ProcessorReportCodec().decode(bytes)) != nil,
                    (try? BurstRecordCodec().decode(bytes)) != nil,
                ]
                FuzzCheck.require(read.contains(true), "no codec reads the seed \(name)")
                try Data(bytes.readableBytesView).write(to: directory.appendingPathComponent(name))
            }
            func encoded<Codec: RecordCodec>(_ codec: Codec, _ value: Codec.Value) -> ByteBuffer {
                var buffer = ByteBuffer()
                codec.encode(value, into: &buffer)
                return buffer
            }
            let now: EpochMillis = 1_800_000_000_000
            let reactions = [
                Reaction(userID: "u42", emoji: "😀", clientTimestamp: now, channel: "main"),
                Reaction(userID: "asha", emoji: "👍🏽", clientTimestamp: now - 1500, channel: "cricket"),
            ]
            try write("reaction-v1", encoded(ReactionCodec(), reactions[0]))
            try write("reactions-v2", encoded(ReactionBatchCodec(), reactions))
            try write("reaction-json", ByteBuffer(string: reactions[1].jsonText()))

            let report = ProcessorReport(
                processor: "processor-1", watermark: now, partitions: [0, 1, 7],
                windows: [
                    WindowCounts(
                        start: now - 2000, end: now,
                        partitions: [
                            PartitionCounts(partition: 0, channels: ["main": ["😀": 450, "😢": 120]], from: 10, to: 590),
                            PartitionCounts(partition: 7, channels: ["cricket": ["🔥": 7]]),
                        ])
                ], epoch: "5f1e-22")
            try write("report-v2", encoded(ProcessorReportCodec(), report))
            try write("report-json", ByteBuffer(data: try JSONEncoder().encode(report)))

            let burst = Burst(
                channel: "main", seq: 42, windowStart: now - 2000, windowEnd: now,
                counts: ["😀": 450, "😢": 120, "🔥": 7], scaleDown: ScaleDown())
            try write("burst-v2", encoded(BurstRecordCodec(), BurstRecord(burst, ledger: [0: 590, 3: 12], epoch: "5f1e-22")))
            var v1 = encoded(BurstRecordCodec(), BurstRecord(burst))
            v1.setInteger(UInt8(1), at: 0)
            v1.moveWriterIndex(to: v1.writerIndex - 6)  // no ledger (UInt32 count) and no epoch (UInt16 length)
            try write("burst-v1", v1)
            try write("burst-json", ByteBuffer(string: burst.jsonText()))
        }
    }
}
