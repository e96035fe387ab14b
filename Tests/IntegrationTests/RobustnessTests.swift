import AsyncHTTPClient
import EmoCore
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

@Suite(.serialized) struct RobustnessTests {
    @Test func malformedInputGetsA4xxJSONErrorAndTheServerStaysHealthy() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let ingest = endpoints.api + "/api/emojis"
            let valid = #"{"user_id":"u42","emoji_type":"😀","timestamp":\#(EpochMillis.now())}"#
            let cases: [(String?, String, Int, String)] = [
                ("application/json", "{not json", 400, "invalid_json"),
                ("application/json", "", 400, "invalid_json"),
                ("application/json", "[]", 400, "empty_batch"),
                ("application/json", #"[{"user_id":"a","timestamp":1}]"#, 400, "missing_field"),
                ("application/json", #"{"user_id":"a","emoji_type":"nope","timestamp":"2026-01-01T00:00:00Z"}"#, 400, "invalid_emoji"),
                ("application/json", #"{"user_id":"a","emoji_type":"😀","timestamp":"1999-01-01T00:00:00Z"}"#, 400, "invalid_timestamp"),
                ("application/json", #"{"user_id":"a b","emoji_type":"😀","timestamp":0}"#, 400, "invalid_user_id"),
                ("application/json", "[" + Array(repeating: valid, count: 11).joined(separator: ",") + "]", 413, "batch_too_large"),
                ("application/json", "[" + Array(repeating: valid, count: 400).joined(separator: ",") + "]", 413, "payload_too_large"),
                ("text/plain", valid, 415, "unsupported_media_type"),
                (nil, valid, 415, "unsupported_media_type"),
            ]
            for (contentType, body, status, code) in cases {
                let result = try await request(.POST, ingest, body: body, contentType: contentType)
                #expect(result.status == status, "\(code): \(result.text)")
                #expect(result.json["error"] as? String == code, "\(result.text)")
                #expect(result.json["message"] != nil)
            }
            let missing = try await request(.POST, ingest, body: "[" + valid + #",{"user_id":"b"}]"#)
            #expect(missing.json["index"] as? String == "1")

            let node = endpoints.nodes[0].sseURL.replacingOccurrences(of: "/events", with: "")
            for path in ["/events?after=abc", "/events?after=-1", "/events?channel=UPPER", "/ws?after=x"] {
                let result = try await request(.GET, node + path, contentType: nil)
                #expect(result.status == 400, "\(path): \(result.text)")
                #expect(result.json["error"] != nil, "\(path)")
            }
            for (path, code) in [("/events", "missing_ticket"), ("/events?ticket=abc.def", "invalid_ticket"), ("/ws?ticket=", "missing_ticket")] {
                let result = try await request(.GET, node + path, contentType: nil)
                #expect(result.status == 401, "\(path): \(result.text)")
                #expect(result.json["error"] as? String == code, "\(path)")
            }

            for (method, url, status) in [
                (HTTPMethod.GET, endpoints.api + "/nope", 404), (.GET, ingest, 404), (.DELETE, endpoints.api + "/api/nodes", 404),
                (.GET, node + "/nope", 404),
            ] {
                let result = try await request(method, url, contentType: nil)
                #expect(result.status == status, "\(url): \(result.text)")
                #expect(result.json["error"] != nil, "\(url): \(result.text)")
            }

            #expect(try await request(.GET, endpoints.api + "/healthz", contentType: nil).status == 200)
            #expect(try await request(.GET, node + "/healthz", contentType: nil).status == 200)
            #expect(try await request(.POST, ingest, body: valid).status == 202)
        } configure: { configuration in
            configuration.ingest.batch.maxEvents = 10
            configuration.ingest.maxBodyBytes = 16 * 1024
        }
    }

    /// A viewer whose socket is never read fills its TCP buffers; the other viewer must still get every burst
    /// as it happens, and the hub must drop the stalled viewer's backlog and finally disconnect it.
    @Test func aViewerThatNeverReadsDoesNotDelayAnother() async throws {
        try await withSystem(nodes: 1, window: 50) { endpoints in
            let (stalled, fast, fastTask) = try await StalledWebSocket.beside(try await Account.make(endpoints.api))
            defer { stalled.close() }
            defer { fastTask.cancel() }
            let manyEmojis = StalledWebSocket.bigBurst
            for round in 1...30 {
                let posted = try await postReactions(endpoints.api, manyEmojis, user: "r\(round)")
                #expect(posted.status == 202)
                let burst = try await fast.next()
                #expect(burst.seq == UInt64(round))
                #expect(burst.total == manyEmojis.count)
            }
            let metrics = try await request(.GET, endpoints.api + "/metrics", contentType: nil).text
            let drops = metrics.split(separator: "\n").first { $0.hasPrefix("emostream_viewer_drops_total") }
            #expect(drops.flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0 > 0, "\(metrics)")
        } configure: { configuration in
            configuration.nodes.hub.viewerBuffer = 2
        }
    }
}

/// A WebSocket client that completes the upgrade request and then never reads a byte.
struct StalledWebSocket {
    let channel: any Channel

    static func connect(_ url: String) async throws -> StalledWebSocket {
        let parts = url.replacingOccurrences(of: "ws://", with: "").split(separator: "/", maxSplits: 1)
        let hostPort = parts[0].split(separator: ":")
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.autoRead, value: false)
            .channelOption(ChannelOptions.socketOption(.so_rcvbuf), value: 2048)
            .connect(host: String(hostPort[0]), port: Int(hostPort[1])!).get()
        let upgrade =
            "GET /\(parts.count > 1 ? String(parts[1]) : "") HTTP/1.1\r\nHost: \(parts[0])\r\nUpgrade: websocket\r\n"
            + "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: upgrade)).get()
        return StalledWebSocket(channel: channel)
    }

    func close() {
        channel.close(promise: nil)
    }

    /// One of `account`'s devices that never reads, and one that reads (its hello already read).
    static func beside(_ account: Account) async throws -> (StalledWebSocket, Inbox, Task<Void, any Error>) {
        let stalled = try await StalledWebSocket.connect(try await account.place().wsURL)
        let (reading, task) = connectWebSocket(try await account.place().wsURL)
        do {
            _ = try await reading.next()
        } catch {
            stalled.close()
            task.cancel()
            throw error
        }
        return (stalled, reading, task)
    }

    /// A batch of 600 emoji types, one each: its burst (~25 KB a frame) fills a stalled socket's buffers at once.
    static let bigBurst: [(String, Int)] = (0x1F300...0x1FAFF).compactMap(Unicode.Scalar.init)
        .filter { $0.properties.isEmojiPresentation }.prefix(600).map { (String($0), 1) }
}
