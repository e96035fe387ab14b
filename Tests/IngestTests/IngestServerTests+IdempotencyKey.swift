import EmoCore
import EventLog
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Ingest
import NIOCore
import PipelineTopics
import Testing

extension IngestServerTests {
    @Test func anIdempotencyKeyBecomesTheRecordKeyAndPicksItsPartition() async throws {
        try await IngestFixture.withServer { client, fixture in
            let key = "5f0c2a9e-7d1b-4c3e-9a8f-1b2c3d4e5f60"
            for _ in 0..<2 {
                let response = try await client.execute(
                    uri: "/api/emojis", method: .post,
                    headers: [.contentType: "application/json", HTTPField.Name("Idempotency-Key")!: key],
                    body: ByteBuffer(string: "[\(event("alice", "😀")),\(event("bob", "🔥"))]"))
                #expect(response.status == .accepted)
            }
            let records = try await fixture.readReactions()
            let partition = Partitioner.partition(forKey: Array(key.utf8), partitions: PipelineTopics.defaultReactionPartitions)
            // Both attempts are in the log, on the key's partition: the processors count the second as a repeat.
            #expect(records.count == 4)
            #expect(records.allSatisfy { $0.partition == partition && $0.key.map { String(buffer: $0) } == key })
        }
    }

    @Test(arguments: ["", String(repeating: "k", count: 129), "has space", "naïve"])
    func aMalformedIdempotencyKeyIsA400NamingIt(key: String) async throws {
        try await IngestFixture.withServer { client, fixture in
            let response = try await client.execute(
                uri: "/api/emojis", method: .post,
                headers: [.contentType: "application/json", HTTPField.Name("Idempotency-Key")!: key],
                body: ByteBuffer(string: event("alice", "😀")))
            #expect(response.status == .badRequest)
            #expect(try json(response)["error"] as? String == "invalid_idempotency_key")
            #expect(fixture.retained == 0)
        }
    }
}
