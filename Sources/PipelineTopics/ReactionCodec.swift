import EventLog
import EmoCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// The `emoji` topic's record format.
///
/// Version 1: `01 | user_id: str | emoji: str | client timestamp: Int64 | channel: str` (strings are a `UInt16`
/// length and UTF-8 bytes, integers big-endian). A record starting with `{` is the JSON of earlier releases.
public struct ReactionCodec: RecordCodec {
    public static let version: UInt8 = 1

    public init() {}

    public func encode(_ reaction: Reaction, into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.version)
        buffer.writeRecordString(reaction.userID)
        buffer.writeRecordString(reaction.emoji)
        buffer.writeInteger(reaction.clientTimestamp)
        buffer.writeRecordString(reaction.channel)
    }

    public func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> Reaction {
        try RecordFormat.decode(buffer, version: Self.version) { buffer throws(RecordDecodingError) in
            let userID = try buffer.readRecordString()
            let emoji = try buffer.readRecordString()
            let timestamp = try buffer.readRecordInteger(as: Int64.self)
            let channel = try buffer.readRecordString()
            return Reaction(userID: userID, emoji: emoji, clientTimestamp: timestamp, channel: channel)
        } legacy: { try JSONDecoder().decode(Reaction.self, from: $0).requireEncodable() }
    }
}

extension Reaction {
    /// A reaction of a legacy JSON record, once it is known to fit the binary format.
    func requireEncodable() throws(RecordDecodingError) -> Reaction {
        try LegacyRecord.requireString(userID, "user_id")
        try LegacyRecord.requireString(emoji, "emoji_type")
        try LegacyRecord.requireString(channel, "channel")
        return self
    }
}

/// The `emoji` topic's record format since one record holds one whole ingest request: an accepted request is one
/// record, so it is appended (and on Kafka acknowledged) all at once or not at all — a refused request never leaves
/// part of itself counted, and a client may safely retry it.
///
/// Version 2: `02 | count: UInt32 | count × (user_id: str | emoji: str | client timestamp: Int64 | channel: str)`.
/// Single reactions of version 1 (``ReactionCodec``) and the JSON of earlier releases are read as batches of one.
public struct ReactionBatchCodec: RecordCodec {
    public static let version: UInt8 = 2

    public init() {}

    public func encode(_ reactions: [Reaction], into buffer: inout ByteBuffer) {
        buffer.writeInteger(Self.version)
        buffer.writeInteger(UInt32(reactions.count))
        for reaction in reactions {
            buffer.writeRecordString(reaction.userID)
            buffer.writeRecordString(reaction.emoji)
            buffer.writeInteger(reaction.clientTimestamp)
            buffer.writeRecordString(reaction.channel)
        }
    }

    public func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> [Reaction] {
        if buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) == ReactionCodec.version {
            return [try ReactionCodec().decode(buffer)]
        }
        return try RecordFormat.decode(buffer, version: Self.version) { buffer throws(RecordDecodingError) in
            // Each reaction takes at least 14 bytes: three string lengths and the timestamp.
            let count = try buffer.readRecordCount(minimumBytes: 14)
            var reactions: [Reaction] = []
            reactions.reserveCapacity(count)
            for _ in 0..<count {
                let userID = try buffer.readRecordString()
                let emoji = try buffer.readRecordString()
                let timestamp = try buffer.readRecordInteger(as: Int64.self)
                let channel = try buffer.readRecordString()
                reactions.append(Reaction(userID: userID, emoji: emoji, clientTimestamp: timestamp, channel: channel))
            }
            return reactions
        } legacy: { [try JSONDecoder().decode(Reaction.self, from: $0).requireEncodable()] }
    }
}
