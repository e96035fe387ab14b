import EventLog
import EmoCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// The `emoji-counts` topic's record format.
///
/// Version 1: `01 | processor: str | watermark: Int64 | partitions: UInt32 count × Int32 | windows: UInt32 count ×
/// (start: Int64 | end: Int64 | UInt32 count × (partition: Int32 | UInt32 count × (channel: str | UInt32 count ×
/// (emoji: str | count: Int64))))`. Channels and emojis are written in sorted order, so equal reports encode
/// equally. A record starting with `{` is the JSON of earlier releases.
public struct ProcessorReportCodec: RecordCodec {
    public static let version: UInt8 = 1

    public init() {}

    public func encode(_ report: ProcessorReport, into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.version)
        buffer.writeRecordString(report.processor)
        buffer.writeInteger(report.watermark)
        buffer.writeInteger(UInt32(report.partitions.count))
        for partition in report.partitions { buffer.writeInteger(Int32(partition)) }
        buffer.writeInteger(UInt32(report.windows.count))
        for window in report.windows {
            buffer.writeInteger(window.start)
            buffer.writeInteger(window.end)
            buffer.writeInteger(UInt32(window.partitions.count))
            for counts in window.partitions {
                buffer.writeInteger(Int32(counts.partition))
                buffer.writeInteger(UInt32(counts.channels.count))
                for (channel, emojis) in counts.channels.sorted(by: { $0.key < $1.key }) {
                    buffer.writeRecordString(channel)
                    buffer.writeInteger(UInt32(emojis.count))
                    for (emoji, count) in emojis.sorted(by: { $0.key < $1.key }) {
                        buffer.writeRecordString(emoji)
                        buffer.writeInteger(Int64(count))
                    }
                }
            }
        }
    }

    public func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> ProcessorReport {
        try RecordFormat.decode(buffer, version: Self.version, current: Self.decodeVersion1) {
            try JSONDecoder().decode(ProcessorReport.self, from: $0)
        }
    }

    static func decodeVersion1(_ buffer: inout ByteBuffer) throws(RecordDecodingError) -> ProcessorReport {
        let processor = try buffer.readRecordString()
        let watermark = try buffer.readRecordInteger(as: Int64.self)
        var partitions: [Int] = []
        for _ in 0..<(try buffer.readRecordCount(minimumBytes: 4)) {
            partitions.append(Int(try buffer.readRecordInteger(as: Int32.self)))
        }
        var windows: [WindowCounts] = []
        for _ in 0..<(try buffer.readRecordCount(minimumBytes: 20)) {
            let start = try buffer.readRecordInteger(as: Int64.self)
            let end = try buffer.readRecordInteger(as: Int64.self)
            var perPartition: [PartitionCounts] = []
            for _ in 0..<(try buffer.readRecordCount(minimumBytes: 8)) {
                let partition = Int(try buffer.readRecordInteger(as: Int32.self))
                var channels: [String: [String: Int]] = [:]
                for _ in 0..<(try buffer.readRecordCount(minimumBytes: 6)) {
                    let channel = try buffer.readRecordString()
                    var emojis: [String: Int] = [:]
                    for _ in 0..<(try buffer.readRecordCount(minimumBytes: 10)) {
                        let emoji = try buffer.readRecordString()
                        let count = try buffer.readRecordInteger(as: Int64.self)
                        guard count >= 0 else { throw RecordDecodingError("a negative count") }
                        guard emojis.updateValue(Int(count), forKey: emoji) == nil else {
                            throw RecordDecodingError("an emoji appears twice")
                        }
                    }
                    guard channels.updateValue(emojis, forKey: channel) == nil else {
                        throw RecordDecodingError("a channel appears twice")
                    }
                }
                perPartition.append(PartitionCounts(partition: partition, channels: channels))
            }
            windows.append(WindowCounts(start: start, end: end, partitions: perPartition))
        }
        return ProcessorReport(processor: processor, watermark: watermark, partitions: partitions, windows: windows)
    }
}
