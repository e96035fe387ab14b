import EmoCore
import Testing

@Suite struct EmojiTests {
    @Test(arguments: [
        ("happy", "😀"), ("sad", "😢"), ("angry", "😠"), ("love", "❤️"), ("laugh", "😂"), ("fire", "🔥"),
        ("clap", "👏"), ("HAPPY", "😀"),
    ])
    func aliasesNormaliseToTheGlyph(alias: String, glyph: String) {
        #expect(Emoji.normalize(alias) == glyph)
    }

    @Test(arguments: ["😀", "👨‍👩‍👧", "👍🏽", "🇮🇳", "1️⃣", "❤️", "❤", "🏳️‍🌈", "🧑🏿‍🚀", "🫠"])
    func singleEmojiGraphemesAreAccepted(emoji: String) {
        #expect(Emoji.normalize(emoji) == emoji)
    }

    @Test(arguments: ["", "a", "1", "#", "😀😀", "ab", "smile", "😀 ", " ", "é", "\u{200D}"])
    func anythingElseIsRejected(value: String) {
        #expect(Emoji.normalize(value) == nil)
    }
}

@Suite struct TimestampTests {
    @Test func parsesWithAndWithoutFractionalSeconds() {
        #expect(ISO8601Millis.parse("1970-01-01T00:00:00Z") == 0)
        #expect(ISO8601Millis.parse("2026-11-29T06:00:00Z") == 1_795_932_000_000)
        #expect(ISO8601Millis.parse("2026-11-29T06:00:00.123Z") == 1_795_932_000_123)
        #expect(ISO8601Millis.parse("2026-11-29T06:00:00.1Z") == 1_795_932_000_100)
        #expect(ISO8601Millis.parse("2026-11-29T06:00:00.123456789Z") == 1_795_932_000_123)
        #expect(ISO8601Millis.parse("2026-11-29T07:30:00+01:30") == 1_795_932_000_000)
        #expect(ISO8601Millis.parse("2026-11-29T04:00:00-02:00") == 1_795_932_000_000)
    }

    @Test(arguments: [
        "", "2026-11-29", "2026-11-29T06:00:00", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-29T24:00:00Z",
        "2026-11-29T06:00:00.Z", "2026-11-29T06:00:00Zjunk", "yesterday", "2026-11-29T06:00:00+0100",
    ])
    func rejectsMalformedTimestamps(text: String) {
        #expect(ISO8601Millis.parse(text) == nil)
    }

    @Test func formatsRoundTrip() {
        for millis: EpochMillis in [0, 1_795_932_000_123, 951_782_400_000, -1] {
            #expect(ISO8601Millis.parse(ISO8601Millis.format(millis)) == millis)
        }
        #expect(ISO8601Millis.format(1_795_932_000_123) == "2026-11-29T06:00:00.123Z")
    }
}
