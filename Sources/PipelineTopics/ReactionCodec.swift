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
        var buffer = buffer
        let version = try buffer.readRecordInteger(as: UInt8.self)
        switch version {
        case Self.version:
            let userID = try buffer.readRecordString()
            let emoji = try buffer.readRecordString()
            let timestamp = try buffer.readRecordInteger(as: Int64.self)
            let channel = try buffer.readRecordString()
            try buffer.requireFullyRead()
            return Reaction(userID: userID, emoji: emoji, clientTimestamp: timestamp, channel: channel)
        case RecordFormat.legacyJSON:
            buffer.moveReaderIndex(to: buffer.readerIndex - 1)
            do {
                return try JSONDecoder().decode(Reaction.self, from: buffer)
            } catch {
                throw RecordDecodingError("legacy JSON reaction: \(error)")
            }
        default:
            throw .unknownVersion(version)
        }
    }
}
