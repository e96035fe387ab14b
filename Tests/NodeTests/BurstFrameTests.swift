import EmoTestSupport
import EmoCore
import NIOCore
import Node
import Testing

@Suite struct BurstFrameTests {
    @Test func keepsThePublishersBytesAndBuildsOneServerSentEvent() {
        // Spacing no encoder would produce: the frame must be the publisher's bytes, not a re-encoding.
        let json = #"{"type":"burst",  "channel":"main","seq":42,"emojis":[{"emoji_type":"😀","count":3,"scaled":1}]}"#
        let frame = BurstFrame(channel: "main", seq: 42, payload: ByteBuffer(string: json))
        #expect(frame.payload == ByteBuffer(string: json))
        #expect(frame.text == json)
        #expect(frame.sseEvent == ByteBuffer(string: "id: 42\ndata: \(json)\n\n"))
        #expect(String(buffer: frame.sseEvent) == "id: 42\ndata: " + json + "\n\n")
    }

    @Test func theEventOfABurstFromTheHubCarriesItsSeqAndJSON() {
        let burst = Burst(
            channel: "cricket", seq: 7, windowStart: 1_000, windowEnd: 3_000, total: 12,
            emojis: [EmojiCount(emoji: "👏", count: 12, scaled: 2)])
        let frame = BurstFrame(channel: burst.channel, seq: burst.seq, payload: ByteBuffer(string: burst.jsonText()))
        #expect(String(buffer: frame.sseEvent) == "id: 7\ndata: \(burst.jsonText())\n\n")
    }
}
