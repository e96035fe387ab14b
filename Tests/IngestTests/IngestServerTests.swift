import EmoCore
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import NIOCore
import PipelineTopics
import Testing

/// `POST /api/emojis` of `IngestServer.buildApplication`, over a real embedded log.
@Suite struct IngestServerTests {
    @Test func aSingleEventIsAcceptedAndAppendedAsOneUnkeyedRecord() async throws {
        try await IngestFixture.withServer { client, fixture in
            let response = try await postEmojis(client, event("alice", "😀"))
            #expect(response.status == .accepted)
            #expect(try json(response)["accepted"] as? Int == 1)

            let records = try await fixture.readReactions()
            #expect(records.map(\.value) == [Reaction(userID: "alice", emoji: "😀", clientTimestamp: now, channel: "main")])
            #expect(records.map(\.key) == [nil])
        }
    }

    @Test func aBatchIsAppendedWholeAsOneRecordWithAliasesNormalisedInOrder() async throws {
        let iso = "2026-01-02T03:04:05.678Z"
        let isoMillis = try #require(ISO8601Millis.parse(iso))
        let posted = [
            event("alice", "😀"), event("bob", "fire", channel: "cricket"), event("alice", "sad"),
            #"{"user_id":"carol","emoji_type":"👏","timestamp":"\#(iso)"}"#, event("alice", "🎉", timestamp: now + 1),
        ]
        // The skew check is against the server's clock; keep the ISO event inside it.
        var configuration = IngestController.Configuration()
        configuration.batch.maxClockSkewMillis = abs(now - isoMillis) + 86_400_000
        try await IngestFixture.withServer(configuration: configuration) { client, fixture in
            let response = try await postEmojis(client, batch(posted))
            #expect(response.status == .accepted)
            #expect(try json(response)["accepted"] as? Int == 5)

            let records = try await fixture.readReactions()
            let expected = [
                Reaction(userID: "alice", emoji: "😀", clientTimestamp: now),
                Reaction(userID: "bob", emoji: "🔥", clientTimestamp: now, channel: "cricket"),
                Reaction(userID: "alice", emoji: "😢", clientTimestamp: now),
                Reaction(userID: "carol", emoji: "👏", clientTimestamp: isoMillis),
                Reaction(userID: "alice", emoji: "🎉", clientTimestamp: now + 1),
            ]
            #expect(records.count == expected.count)
            #expect(byUser(records.compactMap(\.value)) == byUser(expected))
            // One record holds the whole request, in the order posted: durable all at once or not at all.
            #expect(records.compactMap(\.value) == expected)
            #expect(Set(records.map { "\($0.partition)/\($0.offset)" }).count == 1)
        }
    }

    struct BadInput: Sendable, CustomTestStringConvertible {
        var name: String
        var body: String
        var contentType = "application/json"
        var configuration = IngestController.Configuration()
        var status: HTTPResponse.Status
        var code: String
        var index: Int?

        var testDescription: String { name }
    }

    static let badInputs: [BadInput] = [
        BadInput(name: "not JSON", body: #"{"user_id":"#, status: .badRequest, code: "invalid_json"),
        BadInput(
            name: "no user_id", body: #"{"emoji_type":"😀","timestamp":\#(now)}"#, status: .badRequest,
            code: "missing_field", index: 0),
        BadInput(
            name: "an unknown emoji after a valid event", body: batch([event("a", "😀"), event("b", "banana")]),
            status: .badRequest, code: "invalid_emoji", index: 1),
        BadInput(
            name: "text/plain", body: event("a", "😀"), contentType: "text/plain", status: .unsupportedMediaType,
            code: "unsupported_media_type"),
        BadInput(
            name: "a body above maxBodyBytes", body: batch(Array(repeating: event("a", "😀"), count: 4)),
            configuration: .init(maxBodyBytes: 64), status: .contentTooLarge, code: "payload_too_large"),
        BadInput(
            name: "more events than a batch holds", body: batch(Array(repeating: event("a", "😀"), count: 3)),
            configuration: .init(batch: .init(maxEvents: 2)), status: .contentTooLarge, code: "batch_too_large"),
        BadInput(
            name: "more reactions of one user than a burst", body: batch(Array(repeating: event("a", "😀"), count: 3)),
            configuration: .init(userRate: 1), status: .badRequest, code: "too_many_from_one_user"),
    ]

    @Test(arguments: badInputs)
    func badInputGetsAJSONErrorAndNothingIsAppended(_ input: BadInput) async throws {
        try await IngestFixture.withServer(configuration: input.configuration) { client, fixture in
            let response = try await postEmojis(client, input.body, contentType: input.contentType)
            #expect(response.status == input.status)
            #expect(response.headers[.contentType] == "application/json")
            let body = try json(response)
            #expect(body["error"] as? String == input.code)
            #expect((body["message"] as? String)?.isEmpty == false)
            if let index = input.index {
                #expect(body["index"] as? Int == index)
            }
            #expect(fixture.retained == 0)
        }
    }

    @Test func aUserOverTheRateGets429WithRetryAfterAndNothingOfTheBatchIsKept() async throws {
        // 1 reaction/s in bursts of 2.
        try await IngestFixture.withServer(configuration: .init(userRate: 1)) { client, fixture in
            let first = try await postEmojis(client, batch([event("spammer", "😀"), event("spammer", "😢")]))
            #expect(first.status == .accepted)

            let limited = try await postEmojis(client, batch([event("bystander", "👏"), event("spammer", "🔥")]))
            #expect(limited.status == .tooManyRequests)
            let body = try json(limited)
            #expect(body["error"] as? String == "rate_limited")
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter >= 1)
            #expect(body["retry_after"] as? Int == retryAfter)
            #expect(fixture.retained == 2)

            // The refused batch took nothing from the other user either.
            let bystander = try await postEmojis(client, batch([event("bystander", "👏"), event("bystander", "👏")]))
            #expect(bystander.status == .accepted)
            let users = try await fixture.readReactions().compactMap(\.value?.userID)
            #expect(users.sorted() == ["bystander", "bystander", "spammer", "spammer"])
        }
    }

    @Test func aFullLogAnswers503OverloadedWithRetryAfter() async throws {
        // Room for two reactions and nobody consuming them: the third waits out the append timeout.
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 2, appendTimeout: .milliseconds(100)))
        try await IngestFixture.withServer(log: log, reactionPartitions: 1) { client, fixture in
            let accepted = try await postEmojis(client, batch([event("a", "😀"), event("b", "😀")]))
            #expect(accepted.status == .accepted)

            let overloaded = try await postEmojis(client, event("c", "😀"))
            #expect(overloaded.status == .serviceUnavailable)
            #expect(overloaded.headers[.retryAfter] == "1")
            #expect(try json(overloaded)["error"] as? String == "overloaded")
            #expect(fixture.retained == 2)

            let metrics = try await client.execute(uri: "/metrics", method: .get) { String(buffer: $0.body) }
            #expect(metricsLines(metrics).contains("emostream_ingest_overloaded_total 1"))
        }
    }

    @Test func healthzNamesTheRole() async throws {
        try await IngestFixture.withServer { client, _ in
            let response = try await client.execute(uri: "/healthz", method: .get)
            #expect(response.status == .ok)
            let body = try json(response)
            #expect(body["status"] as? String == "ok")
            #expect(body["role"] as? String == "ingest")
        }
    }

    @Test func metricsCountAcceptedAndRejectedReactions() async throws {
        try await IngestFixture.withServer { client, _ in
            #expect(try await postEmojis(client, batch([event("a", "😀"), event("b", "😢"), event("a", "🔥")])).status == .accepted)
            #expect(try await postEmojis(client, event("a", "😀")).status == .accepted)
            #expect(try await postEmojis(client, "nope").status == .badRequest)

            let response = try await client.execute(uri: "/metrics", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let lines = metricsLines(String(buffer: response.body))
            #expect(lines.contains("emostream_reactions_accepted_total 4"))
            #expect(lines.contains("emostream_ingest_rejected_total 1"))
        }
    }

    @Test func unknownRoutesGetAJSONError() async throws {
        try await IngestFixture.withServer { client, _ in
            let response = try await client.execute(uri: "/api/nope", method: .get)
            #expect(response.status == .notFound)
            #expect(try json(response)["error"] as? String == "not_found")
        }
    }
}

func metricsLines(_ text: String) -> Set<String> {
    Set(text.split(separator: "\n").map(String.init))
}
