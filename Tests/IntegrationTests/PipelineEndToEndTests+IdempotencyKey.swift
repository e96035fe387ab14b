import EmoCore
import Foundation
import Testing

extension PipelineEndToEndTests {
    /// On the embedded log of `emostream up`: a request sent again with its `Idempotency-Key` (its 202 was lost, say)
    /// is answered 202 again and counted once; the same reactions under another key count again.
    @Test func aRequestSentAgainWithItsIdempotencyKeyCountsOnce() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api)
            let (live, liveTask) = connectWebSocket(try await account.place().wsURL)
            defer { liveTask.cancel() }
            _ = try await live.next()
            let body = KafkaFaultTests.body([("😀", 5), ("🔥", 2)], user: "again")
            let key = UUID().uuidString
            for _ in 0..<3 {
                let posted = try await request(.POST, endpoints.api + "/api/emojis", body: body, headers: [("Idempotency-Key", key)])
                #expect(posted.status == 202, "\(posted.text)")
            }
            #expect(try await request(.POST, endpoints.api + "/api/emojis", body: body, headers: [("Idempotency-Key", "other-\(key)")]).status == 202)
            var seen: [String: Int] = [:]
            while seen.values.reduce(0, +) < 14 {
                let burst = try await live.next()
                if burst.type == "burst" { seen.merge(counts(burst), uniquingKeysWith: +) }
            }
            #expect(seen == ["😀": 10, "🔥": 4])
            // A marker posted last: once it is seen, nothing more of the repeats can follow.
            #expect(try await postReactions(endpoints.api, [("🎉", 1)], user: "marker").status == 202)
            while true {
                let burst = try await live.next()
                guard burst.type == "burst" else { continue }
                let marker = counts(burst)
                #expect(marker == ["🎉": 1])
                if marker["🎉"] != nil { break }
            }
            let bad = try await request(.POST, endpoints.api + "/api/emojis", body: body, headers: [("Idempotency-Key", "a b")])
            #expect(bad.status == 400)
            #expect(bad.json["error"] as? String == "invalid_idempotency_key")
        }
    }
}
