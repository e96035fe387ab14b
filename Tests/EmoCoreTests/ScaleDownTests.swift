import EmoCore
import Foundation
import Testing

@Suite struct ScaleDownTests {
    @Test(arguments: [(0, 0), (1, 1), (99, 1), (100, 1), (101, 2), (199, 2), (200, 2), (450, 5), (120, 2), (7, 1)])
    func ceilModeShowsEveryEmojiSent(count: Int, scaled: Int) {
        #expect(ScaleDown(scale: 100, mode: .ceil).scaled(count) == scaled)
    }

    @Test(arguments: [(0, 0), (1, 0), (99, 0), (100, 1), (101, 1), (199, 1), (200, 2), (450, 4)])
    func floorModeIsTheOriginalRule(count: Int, scaled: Int) {
        #expect(ScaleDown(scale: 100, mode: .floor).scaled(count) == scaled)
    }

    @Test func windowsAreAlignedToTheEpoch() {
        let window = WindowSpec(lengthMillis: 2000)
        #expect(window.start(of: 1_795_932_001_999) == 1_795_932_000_000)
        #expect(window.end(of: 1_795_932_001_999) == 1_795_932_002_000)
        #expect(window.start(of: 1_795_932_002_000) == 1_795_932_002_000)
        #expect(window.start(of: -1) == -2000)
    }

    @Test func burstsSortByCountAndDropWhatScalesToZero() throws {
        let counts = ["😢": 120, "😀": 450, "🔥": 7]
        let ceil = Burst(channel: "main", seq: 1, windowStart: 0, windowEnd: 2000, counts: counts, scaleDown: .init())
        #expect(ceil.emojis.map(\.emoji) == ["😀", "😢", "🔥"])
        #expect(ceil.emojis.map(\.scaled) == [5, 2, 1])
        #expect(ceil.total == 577)
        let floor = Burst(
            channel: "main", seq: 1, windowStart: 0, windowEnd: 2000, counts: counts, scaleDown: .init(mode: .floor))
        #expect(floor.emojis.map(\.emoji) == ["😀", "😢"])
        #expect(floor.emojis.map(\.scaled) == [4, 1])

        let text = ceil.jsonText()
        #expect(text.hasPrefix(#"{"type":"burst","channel":"main","seq":1,"window_start":"1970-01-01T00:00:00.000Z""#))
        #expect(try JSONDecoder().decode(Burst.self, from: Data(text.utf8)) == ceil)
    }

    @Test func jsonQuotingEscapesControlCharacters() {
        #expect(JSONText.quoted("a\"b\\c\n\u{1}") == #""a\"b\\c\n\u0001""#)
    }
}
