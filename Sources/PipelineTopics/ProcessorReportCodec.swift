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
///
/// Version 2 (written): as version 1, with each partition's counts followed by the offsets they cover, `from: Int64 |
/// to: Int64` (both -1 when unknown), and the report ending in the `emoji` topic's epoch, `str` (empty when unknown).
public struct ProcessorReportCodec: RecordCodec {
    public static let version: UInt8 = 2

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
                buffer.writeInteger(counts.from ?? -1)
                buffer.writeInteger(counts.to ?? -1)
            }
        }
        buffer.writeRecordString(report.epoch ?? "")
    }

    public func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> ProcessorReport {
        let version = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == 1 ? 1 : Self.version
        return try RecordFormat.decode(buffer, version: version, current: { buffer throws(RecordDecodingError) in
            try Self.decodeBody(&buffer, withOffsets: version >= 2)
        }) {
            try JSONDecoder().decode(ProcessorReport.self, from: $0).requireEncodable()
        }
    }

    static func decodeBody(_ buffer: inout ByteBuffer, withOffsets: Bool) throws(RecordDecodingError) -> ProcessorReport {
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
                var from: Int64?
                var to: Int64?
                if withOffsets {
                    let first = try buffer.readRecordInteger(as: Int64.self)
                    let end = try buffer.readRecordInteger(as: Int64.self)
                    if first >= 0 || end >= 0 {
                        guard first >= 0, end >= first else { throw RecordDecodingError("an invalid offset range") }
                        from = first
                        to = end
                    }
                }
                perPartition.append(PartitionCounts(partition: partition, channels: channels, from: from, to: to))
            }
            windows.append(WindowCounts(start: start, end: end, partitions: perPartition))
        }
        var epoch: String?
        if withOffsets {
            let text = try buffer.readRecordString()
            epoch = text.isEmpty ? nil : text
        }
        return ProcessorReport(
            processor: processor, watermark: watermark, partitions: partitions, windows: windows, epoch: epoch)
    }
}

extension ProcessorReport {
    /// A report of a legacy JSON record, once it is known to fit the binary format (which has no empty epoch: it
    /// means none).
    func requireEncodable() throws(RecordDecodingError) -> ProcessorReport {
        try LegacyRecord.requireString(processor, "the processor")
        try LegacyRecord.requireString(epoch ?? "", "the epoch")
        for partition in partitions { try LegacyRecord.requireInt32(partition, "partition") }
        for window in windows {
            for counts in window.partitions {
                try LegacyRecord.requireInt32(counts.partition, "partition")
                for (channel, emojis) in counts.channels {
                    try LegacyRecord.requireString(channel, "a channel")
                    for (emoji, count) in emojis {
                        try LegacyRecord.requireString(emoji, "an emoji")
                        guard count >= 0 else { throw RecordDecodingError("a negative count") }
                    }
                }
                switch (counts.from, counts.to) {
                case (nil, nil): break
                case (let from?, let to?) where from >= 0 && to >= from: break
                default: throw RecordDecodingError("an invalid offset range")
                }
            }
        }
        var report = self
        if epoch == "" { report.epoch = nil }
        return report
    }
}
