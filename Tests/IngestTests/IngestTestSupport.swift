import EmoCore
import EventLog
import Foundation
import Hummingbird
import HummingbirdTesting
import Ingest
import Logging
import Metrics
import NIOCore
import PipelineTopics
import Prometheus
import Testing

let quietLogger = Logger(label: "ingest-tests", factory: { _ in SwiftLogNoOpLogHandler() })

/// One ingest server over its own embedded log (the pipeline's topics), tested through its router.
struct IngestFixture: Sendable {
    let log: EmbeddedEventLog
    let registry: PrometheusCollectorRegistry

    /// Builds the log's topics and `IngestServer.buildApplication` exactly as `emostream ingest` does, then runs
    /// `test` against the application's router.
    static func withServer<T: Sendable>(
        log: EmbeddedEventLog = EmbeddedEventLog(), reactionPartitions: Int = PipelineTopics.defaultReactionPartitions,
        configuration: IngestController.Configuration = .init(),
        _ test: @Sendable (any TestClientProtocol, IngestFixture) async throws -> T
    ) async throws -> T {
        for spec in PipelineTopics.specs(reactionPartitions: reactionPartitions) {
            try await log.ensureTopic(spec)
        }
        let registry = PrometheusCollectorRegistry()
        let controller = IngestController(
            log: log, configuration: configuration, metrics: PrometheusMetricsFactory(registry: registry))
        var server = IngestServer.Configuration()
        server.port = 0
        let app = IngestServer.buildApplication(
            configuration: server, controller: controller, registry: registry, logger: quietLogger)
        let fixture = IngestFixture(log: log, registry: registry)
        return try await app.test(.router) { client in try await test(client, fixture) }
    }

    /// Reactions currently held by the `emoji` topic, over every partition.
    var retained: Int { log.retainedCounts(of: PipelineTopics.reactions.name).reduce(0, +) }

    /// Everything in the `emoji` topic, read back through the typed topic as the stream processors read it: each
    /// reaction with the place of the record (the request) that holds it.
    func readReactions() async throws -> [TopicRecord<Reaction>] {
        let options = ConsumerOptions(topic: PipelineTopics.reactions.name, start: .earliest, clientID: "ingest-test")
        return try await log.withReader(
            PipelineTopics.reactions, options, logger: quietLogger, metrics: NOOPMetricsHandler.instance
        ) { reader in
            var records: [TopicRecord<Reaction>] = []
            // Appends finished before the 202 was answered: keep reading until a poll finds nothing more.
            while true {
                let poll = try await reader.poll(maxWait: .zero)
                if poll.records.isEmpty { return records }
                for record in poll.records {
                    for reaction in record.value ?? [] {
                        records.append(
                            TopicRecord(
                                partition: record.partition, offset: record.offset, timestamp: record.timestamp,
                                key: record.key, value: reaction))
                    }
                }
            }
        }
    }
}

/// `POST /api/emojis` with a JSON body.
func postEmojis(
    _ client: any TestClientProtocol, _ body: String, contentType: String = "application/json"
) async throws -> TestResponse {
    try await client.execute(
        uri: "/api/emojis", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: body))
}

/// The JSON object of a response body.
func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: response.body))")
}

/// Client timestamps the decoder accepts: now, in epoch milliseconds.
let now = EpochMillis.now()

func event(_ user: String, _ emoji: String, timestamp: EpochMillis = now, channel: String? = nil) -> String {
    let channelField = channel.map { #","channel":"\#($0)""# } ?? ""
    return #"{"user_id":"\#(user)","emoji_type":"\#(emoji)","timestamp":\#(timestamp)\#(channelField)}"#
}

func batch(_ events: [String]) -> String { "[" + events.joined(separator: ",") + "]" }

/// Values grouped by key, each group in log order (the log orders records per key, not across keys).
func byUser(_ reactions: [Reaction]) -> [String: [Reaction]] {
    Dictionary(grouping: reactions, by: \.userID)
}
