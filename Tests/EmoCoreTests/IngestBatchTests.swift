import EmoCore
import Foundation
import Testing

@Suite struct IngestBatchTests {
    let now: EpochMillis = 1_795_932_000_000
    let decoder = IngestBatchDecoder()

    func decode(_ json: String) throws(IngestError) -> [Reaction] {
        try decoder.decode(Data(json.utf8), now: now)
    }

    func error(_ json: String) -> IngestError? {
        do {
            _ = try decode(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func acceptsOneObjectOrAnArray() throws {
        let one = try decode(#"{"user_id":"u42","emoji_type":"😀","timestamp":"2026-11-29T06:00:00.123Z"}"#)
        #expect(one == [Reaction(userID: "u42", emoji: "😀", clientTimestamp: now + 123)])
        let many = try decode(
            #"[{"user_id":"a","emoji_type":"sad","timestamp":1795932000000},"#
                + #"{"user_id":"b.c@d-e_f","emoji_type":"🔥","timestamp":"2026-11-29T06:00:01Z","channel":"match-1"}]"#)
        #expect(many.map(\.emoji) == ["😢", "🔥"])
        #expect(many[1].channel == "match-1")
        #expect(many[0].channel == "main")
    }

    @Test func namesTheFirstBadEventAndItsField() {
        let body =
            #"[{"user_id":"a","emoji_type":"😀","timestamp":1795932000000},"#
            + #"{"user_id":"b","timestamp":1795932000000}]"#
        #expect(error(body) == IngestError(.missingField, "emoji_type is required", index: 1))
        #expect(error(#"{"emoji_type":"😀","timestamp":1}"#)?.code == .missingField)
        #expect(error(#"{"user_id":"a","emoji_type":"😀"}"#)?.code == .missingField)
        #expect(error(#"{"user_id":null,"emoji_type":"😀","timestamp":1795932000000}"#)?.code == .missingField)
    }

    @Test(arguments: [
        (#"{"user_id":"","emoji_type":"😀","timestamp":1795932000000}"#, IngestError.Code.invalidUserID),
        (#"{"user_id":"a b","emoji_type":"😀","timestamp":1795932000000}"#, .invalidUserID),
        (#"{"user_id":42,"emoji_type":"😀","timestamp":1795932000000}"#, .invalidUserID),
        (#"{"user_id":"\#(String(repeating: "x", count: 65))","emoji_type":"😀","timestamp":1795932000000}"#, .invalidUserID),
        (#"{"user_id":"a","emoji_type":"smile","timestamp":1795932000000}"#, .invalidEmoji),
        (#"{"user_id":"a","emoji_type":"😀😀","timestamp":1795932000000}"#, .invalidEmoji),
        (#"{"user_id":"a","emoji_type":["😀"],"timestamp":1795932000000}"#, .invalidEmoji),
        (#"{"user_id":"a","emoji_type":"😀","timestamp":"tomorrow"}"#, .invalidTimestamp),
        (#"{"user_id":"a","emoji_type":"😀","timestamp":true}"#, .invalidTimestamp),
        (#"{"user_id":"a","emoji_type":"😀","timestamp":1}"#, .invalidTimestamp),
        (#"{"user_id":"a","emoji_type":"😀","timestamp":"2026-11-30T06:00:01Z"}"#, .invalidTimestamp),
        (#"{"user_id":"a","emoji_type":"😀","timestamp":1795932000000,"channel":"Main"}"#, .invalidChannel),
        ("{", .invalidJSON), ("42", .invalidJSON), (#""text""#, .invalidJSON), ("[1]", .invalidJSON), ("[]", .emptyBatch),
    ])
    func rejectsBadInputWithItsCode(body: String, code: IngestError.Code) {
        #expect(error(body)?.code == code)
    }

    @Test func timestampsWithin24HoursAreAccepted() throws {
        let day: EpochMillis = 24 * 3600 * 1000
        #expect(try decode(#"{"user_id":"a","emoji_type":"😀","timestamp":\#(now - day)}"#).count == 1)
        #expect(error(#"{"user_id":"a","emoji_type":"😀","timestamp":\#(now + day + 1)}"#)?.code == .invalidTimestamp)
    }

    @Test func batchesAreCapped() {
        let event = #"{"user_id":"a","emoji_type":"😀","timestamp":1795932000000}"#
        let small = IngestBatchDecoder(maxEvents: 3)
        let body = Data(("[" + Array(repeating: event, count: 4).joined(separator: ",") + "]").utf8)
        #expect(throws: IngestError.self) { try small.decode(body, now: now) }
        #expect((try? small.decode(Data(("[" + Array(repeating: event, count: 3).joined(separator: ",") + "]").utf8), now: now))?.count == 3)
    }

    @Test func storedJSONRoundTrips() throws {
        let reaction = Reaction(userID: "ü.ser@x", emoji: "👨‍👩‍👧", clientTimestamp: now, channel: "talk-show")
        let decoded = try JSONDecoder().decode(Reaction.self, from: Data(reaction.jsonText().utf8))
        #expect(decoded == reaction)
    }
}
