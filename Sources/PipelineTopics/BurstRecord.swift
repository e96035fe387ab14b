import EventLog
import EmoCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// A burst as carried by the `publisher-emojis` topic: the few fields the pipeline reads (channel, seq, window,
/// total) beside the viewer frame, the burst's JSON text encoded once by the publisher. Nodes forward `frame` to
/// their viewers as it is, without decoding or encoding it again.
public struct BurstRecord: Sendable, Equatable {
    public var channel: String
    public var seq: UInt64
    public var windowStart: EpochMillis
    public var windowEnd: EpochMillis
    /// The window's raw reaction count.
    public var total: Int
    /// The JSON text frame viewers receive (``Burst/jsonText()``).
    public var frame: ByteBuffer
    /// The publisher's ledger when it appended the burst: per `emoji` partition, every offset below which is counted
    /// in the bursts published so far. A restarted publisher resumes from the newest burst's ledger.
    public var ledger: [Int: Int64]
    /// The incarnation of the `emoji` topic the ledger's offsets belong to (nil when the log cannot tell).
    public var epoch: String?

    public init(
        channel: String, seq: UInt64, windowStart: EpochMillis, windowEnd: EpochMillis, total: Int, frame: ByteBuffer,
        ledger: [Int: Int64] = [:], epoch: String? = nil
    ) {
        self.ledger = ledger
        self.epoch = epoch
        self.channel = channel
        self.seq = seq
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.total = total
        self.frame = frame
    }

    /// Encodes `burst`'s viewer frame.
    public init(_ burst: Burst, ledger: [Int: Int64] = [:], epoch: String? = nil) {
        self.init(
            channel: burst.channel, seq: burst.seq, windowStart: burst.windowStart, windowEnd: burst.windowEnd,
            total: burst.total, frame: ByteBuffer(string: burst.jsonText()), ledger: ledger, epoch: epoch)
    }
}

/// The `publisher-emojis` topic's record format.
///
/// Version 1: `01 | channel: str | seq: UInt64 | window start: Int64 | window end: Int64 | total: Int64 | frame:
/// UInt32 length + bytes`. A record starting with `{` is the burst JSON of earlier releases.
///
/// Version 2 (written): version 1 followed by the ledger, `UInt32 count × (partition: Int32 | next offset: Int64)` in
/// partition order, and its epoch, `str` (empty when unknown).
public struct BurstRecordCodec: RecordCodec {
    public static let version: UInt8 = 2

    public init() {}

    public func encode(_ burst: BurstRecord, into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.version)
        buffer.writeRecordString(burst.channel)
        buffer.writeInteger(burst.seq)
        buffer.writeInteger(burst.windowStart)
        buffer.writeInteger(burst.windowEnd)
        buffer.writeInteger(Int64(burst.total))
        buffer.writeInteger(UInt32(burst.frame.readableBytes))
        var frame = burst.frame
        buffer.writeBuffer(&frame)
        buffer.writeInteger(UInt32(burst.ledger.count))
        for (partition, next) in burst.ledger.sorted(by: { $0.key < $1.key }) {
            buffer.writeInteger(Int32(partition))
            buffer.writeInteger(next)
        }
        buffer.writeRecordString(burst.epoch ?? "")
    }

    public func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> BurstRecord {
        let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 1 ? 1 : Self.version
        return try RecordFormat.decode(buffer, version: version) { buffer throws(RecordDecodingError) in
            let channel = try buffer.readRecordString()
            let seq = try buffer.readRecordInteger(as: UInt64.self)
            let start = try buffer.readRecordInteger(as: Int64.self)
            let end = try buffer.readRecordInteger(as: Int64.self)
            let total = try buffer.readRecordInteger(as: Int64.self)
            guard total >= 0 else { throw RecordDecodingError("a negative total") }
            let length = Int(try buffer.readRecordInteger(as: UInt32.self))
            guard let frame = buffer.readSlice(length: length) else { throw .truncated }
            var ledger: [Int: Int64] = [:]
            var epoch: String?
            if version >= 2 {
                for _ in 0..<(try buffer.readRecordCount(minimumBytes: 12)) {
                    let partition = Int(try buffer.readRecordInteger(as: Int32.self))
                    let next = try buffer.readRecordInteger(as: Int64.self)
                    guard partition >= 0, next >= 0, ledger.updateValue(next, forKey: partition) == nil else {
                        throw RecordDecodingError("an invalid ledger entry")
                    }
                }
                let text = try buffer.readRecordString()
                epoch = text.isEmpty ? nil : text
            }
            return BurstRecord(
                channel: channel, seq: seq, windowStart: start, windowEnd: end, total: Int(total), frame: frame,
                ledger: ledger, epoch: epoch)
        } legacy: {
            let burst = try JSONDecoder().decode(Burst.self, from: $0)
            // Held to the rules of the binary format, so that the record encodes again to what it means.
            try LegacyRecord.requireString(burst.channel, "the channel")
            guard burst.total >= 0 else { throw RecordDecodingError("a negative total") }
            return BurstRecord(burst)
        }
    }
}
