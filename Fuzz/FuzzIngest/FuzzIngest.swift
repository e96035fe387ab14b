import EmoCore
import Foundation
import FuzzSupport
import NIOCore
import PipelineTopics

/// Fuzzes the ingest decoder, `POST /api/emojis` body → validated reactions (``IngestBatchDecoder``).
///
/// A body either throws ``IngestError`` or yields reactions that obey every rule of the API; those reactions
/// survive the way they travel on: as the JSON text of the `emoji` topic's earlier records (decoded again by the
/// ingest decoder, unchanged) and as an `emoji` record (``ReactionBatchCodec``).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIngest(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let body = Data(UnsafeBufferPointer(start: start, count: count))
    let decoder = IngestBatchDecoder()
    let now: EpochMillis = 1_800_000_000_000
    let reactions: [Reaction]
    do {
        reactions = try decoder.decode(body, now: now)
    } catch {
        FuzzCheck.require(error.index.map { $0 >= 0 } ?? true, "a negative index: \(error)")
        return 0
    }
    FuzzCheck.require((1...decoder.maxEvents).contains(reactions.count), "\(reactions.count) reactions")
    for reaction in reactions {
        FuzzCheck.require(UserID.isValid(reaction.userID), "invalid user_id accepted: \(reaction)")
        FuzzCheck.require(ChannelName.isValid(reaction.channel), "invalid channel accepted: \(reaction)")
        FuzzCheck.require(Emoji.normalize(reaction.emoji) == reaction.emoji, "emoji not normalised: \(reaction)")
        FuzzCheck.require(
            abs(reaction.clientTimestamp - now) <= decoder.maxClockSkewMillis, "timestamp out of range: \(reaction)")
    }

    let json = Data(("[" + reactions.map { $0.jsonText() }.joined(separator: ",") + "]").utf8)
    let again = try? decoder.decode(json, now: now)
    FuzzCheck.require(again == reactions, "the reactions' JSON decodes to \(String(describing: again)), not \(reactions)")

    let codec = ReactionBatchCodec()
    var record = ByteBuffer()
    codec.encode(reactions, into: &record)
    let decoded = try? codec.decode(record)
    FuzzCheck.require(decoded == reactions, "the emoji record decodes to \(String(describing: decoded))")
    return 0
}

@main
enum FuzzIngest {
    static func main() {
        FuzzDriver.main(fuzzIngest) { directory in
            let seeds = [
                #"{"user_id":"u42","emoji_type":"love","timestamp":1800000000000}"#,
                #"{"user_id":"asha","emoji_type":"😀","timestamp":"2027-01-15T08:00:00.123Z","channel":"cricket"}"#,
                #"[{"user_id":"u1","emoji_type":"🇮🇳","timestamp":"2027-01-15T09:00:00+01:00"},"#
                    + #"{"user_id":"ü.x@y","emoji_type":"👍🏽","timestamp":1799999999999.5,"channel":"main"},"#
                    + #"{"user_id":"u_3","emoji_type":"1️⃣","timestamp":"2027-01-15T08:00:00Z","channel":"ch-1"}]"#,
                #"[{"user_id":"u1","emoji_type":"👨‍👩‍👧","timestamp":1800000000000,"channel":null}]"#,
                #"[{"user_id":"","emoji_type":"x","timestamp":true}]"#,
            ]
            for (index, seed) in seeds.enumerated() {
                try Data(seed.utf8).write(to: directory.appendingPathComponent("seed-\(index).json"))
            }
        }
    }
}
