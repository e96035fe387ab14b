import EmoTestSupport
import AsyncHTTPClient
import EmoCore
import EmoStore
import EventLog
import Foundation
import NIOCore
import NIOHTTP1
import Node
import PipelineTopics
import Prometheus
import Testing

/// A whole `ClusterNode` listening on a free port, with a real SQLite store, embedded log and token signer: what a
/// viewer sees over SSE.
@Suite struct ClusterNodeLiveTests {
    @Test func aViewerWithATicketReceivesTheHelloThenEachBurstAsOneEvent() async throws {
        try await withLiveNode { store, log, node, listening in
            #expect(listening.port > 0)

            // What POST /api/connect does: a reserved session on this node (registered once it listened), and
            // a ticket for it.
            _ = try await store.createUser(name: "viewer", passwordHash: "not-used", tier: .one)
            let outcome = try await store.reserveSession(
                user: "viewer", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(60))
            guard case .reserved(let session, let placed, _) = outcome else {
                Issue.record("no reservation: \(outcome)")
                return
            }
            #expect(placed.name == "n1")
            let url = listening.sseURL + "?ticket=" + ticket(session: session, user: "viewer", node: "n1")

            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream; charset=utf-8")
            let events = ServerSentEvents(response.body)
            try await withThrowingTaskGroup(of: Void.self) { reading in
                reading.addTask { try await events.read() }
                // Ends the stream from the node's side too, so the reader never outlives the test.
                defer {
                    node.hub.closeAll()
                    reading.cancelAll()
                }

                let hello = try await events.next()
                #expect(hello.hasPrefix("retry: 1000\ndata: "))
                let helloJSON = try JSONSerialization.jsonObject(with: Data(hello.dropFirst("retry: 1000\ndata: ".count).utf8))
                let helloObject = try #require(helloJSON as? [String: Any])
                #expect(helloObject["type"] as? String == "hello")
                #expect(helloObject["node"] as? String == "n1")
                #expect(helloObject["channel"] as? String == "main")
                #expect(helloObject["seq"] as? Int == 0)

                // The ticket is used: the slot is the viewer's, and the same ticket cannot connect again.
                #expect(try await store.nodes(now: Date(), nodeTTL: .seconds(60)).first?.viewers == 1)
                let again = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
                #expect(again.status == .unauthorized)
                let againBody = try await again.body.collect(upTo: 1 << 16)
                #expect(String(buffer: againBody).contains(#""error":"ticket_used""#))

                let burst = Burst(
                    channel: "main", seq: 1, windowStart: 0, windowEnd: 2_000, total: 7,
                    emojis: [EmojiCount(emoji: "😀", count: 5, scaled: 1), EmojiCount(emoji: "🔥", count: 2, scaled: 1)])
                try await log.append([BurstRecord(burst)], to: PipelineTopics.bursts)
                #expect(try await events.next() == "id: 1\ndata: " + burst.jsonText())
            }
        }
    }
}

extension ClusterNodeLiveTests {
    /// A generic HTTP client (Python's requests, curl's --compressed text mode, a browser's "view source") decodes
    /// a `text/*` body by the charset of its Content-Type, and as ISO-8859-1 when there is none: the header must
    /// say UTF-8 for 😀 to arrive as 😀 rather than as "ð\u{9F}\u{98}\u{80}".
    @Test func aGenericClientDecodesEmojiInTheEventStreamByItsDeclaredCharset() async throws {
        try await withLiveNode { store, log, node, listening in
            _ = try await store.createUser(name: "viewer", passwordHash: "not-used", tier: .one)
            guard
                case .reserved(let session, _, _) = try await store.reserveSession(
                    user: "viewer", now: Date(), ticketTTL: .seconds(30), nodeTTL: .seconds(60))
            else {
                Issue.record("no reservation")
                return
            }
            let url = listening.sseURL + "?ticket=" + ticket(session: session, user: "viewer", node: "n1")
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(60))
            #expect(response.status == .ok)
            let contentType = try #require(response.headers.first(name: "content-type"))
            #expect(contentType == "text/event-stream; charset=utf-8")
            #expect(response.headers.first(name: "x-content-type-options") == "nosniff")
            let encoding = try #require(Self.genericDecoding(contentType: contentType))
            #expect(encoding == .utf8)

            let burst = Burst(
                channel: "main", seq: 1, windowStart: 0, windowEnd: 2_000, total: 3,
                emojis: [EmojiCount(emoji: "😀", count: 3, scaled: 1)])
            try await log.append([BurstRecord(burst)], to: PipelineTopics.bursts)
            let text = try await withDeadline("the burst") {
                var bytes: [UInt8] = []
                for try await buffer in response.body {
                    bytes += buffer.readableBytesView
                    // Whole events only: up to a blank line after the burst's.
                    if let text = String(bytes: bytes, encoding: encoding), text.contains("id: 1\n"), text.hasSuffix("\n\n") {
                        return text
                    }
                }
                throw TimedOut(what: "the burst (the stream ended)")
            }
            node.hub.closeAll()
            #expect(text.contains(#""emoji_type":"😀""#), "\(text)")
            #expect(!text.contains("ð"))
        }
    }

    /// A whole node "n1" on a free port, with a SQLite store and an embedded log, running while `body` runs.
    func withLiveNode(
        _ body: (SQLiteEmoStore, EmbeddedEventLog, ClusterNode, ClusterNode.Listening) async throws -> Void
    ) async throws {
        try await withSQLiteStore { store in
            let log = EmbeddedEventLog()
            for spec in PipelineTopics.specs(reactionPartitions: 1) { try await log.ensureTopic(spec) }
            let (listenings, listened) = AsyncStream.makeStream(of: ClusterNode.Listening.self)
            let heartbeat = NodeHeartbeat(store: store, logger: quietLogger)
            let node = ClusterNode(
                configuration: .init(server: .init(name: "n1", port: 0), hub: .init(node: "n1"), advertisedHost: "127.0.0.1"),
                dependencies: .init(
                    log: log, store: store, signer: testSigner, channels: nil, heartbeat: heartbeat,
                    registry: PrometheusCollectorRegistry(), logger: quietLogger, onListening: { listened.yield($0) }))
            try await withServices([heartbeat] + node.services) {
                let listening = try await withDeadline("the node to listen") {
                    guard let first = await listenings.first(where: { _ in true }) else { throw TimedOut(what: "listening") }
                    return first
                }
                try await body(store, log, node, listening)
            }
        }
    }

    /// How a generic client picks the text encoding of a response: its `charset` parameter, else ISO-8859-1 for
    /// `text/*` (RFC 2616 §3.7.1, which Python's requests still follows).
    static func genericDecoding(contentType: String) -> String.Encoding? {
        let parameters = contentType.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let charset = parameters.first(where: { $0.hasPrefix("charset=") })?.dropFirst("charset=".count) else {
            return contentType.lowercased().hasPrefix("text/") ? .isoLatin1 : nil
        }
        switch charset.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) {
        case "utf-8", "utf8": return .utf8
        case "iso-8859-1", "latin1": return .isoLatin1
        default: return nil
        }
    }

    @Test func withoutACharsetAGenericClientWouldSeeMojibake() throws {
        // The failure this guards against, as issue 11 saw it: the same bytes read as ISO-8859-1.
        let encoding = try #require(Self.genericDecoding(contentType: "text/event-stream"))
        let text = try #require(String(bytes: Array(#"{"emoji":"😀"}"#.utf8), encoding: encoding))
        #expect(!text.contains("😀"))
        #expect(Self.genericDecoding(contentType: "text/event-stream; charset=utf-8") == .utf8)
    }
}

/// The events of an SSE response body (the text between blank lines), comments (keepalives) left out.
final class ServerSentEvents: Sendable {
    let body: HTTPClientResponse.Body
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation

    init(_ body: HTTPClientResponse.Body) {
        self.body = body
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    /// Reads the body until it ends (or the task is cancelled).
    func read() async throws {
        defer { continuation.finish() }
        // Bytes, not text: a chunk may end inside a multi-byte character.
        var pending: [UInt8] = []
        for try await buffer in body {
            pending += buffer.readableBytesView
            while let end = pending.indices.dropLast().first(where: { pending[$0] == 0x0A && pending[$0 + 1] == 0x0A }) {
                let event = String(decoding: pending[..<end], as: UTF8.self)
                pending.removeSubrange(..<(end + 2))
                if !event.hasPrefix(":") { continuation.yield(event) }
            }
        }
    }

    func next() async throws -> String {
        let stream = self.stream
        return try await withDeadline("a server-sent event") {
            var iterator = stream.makeAsyncIterator()
            guard let event = await iterator.next() else { throw TimedOut(what: "an event (the stream ended)") }
            return event
        }
    }
}
