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
        } legacy: { try JSONDecoder().decode(Reaction.self, from: $0) }
    }
}
