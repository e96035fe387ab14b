import EmoHTTP
import EmoTestSupport
import Foundation
import NIOCore
import NIOPosix
import Testing

/// A TCP client that speaks raw bytes: what browsers and HTTP libraries never send.
struct RawConnection: Sendable {
    let channel: any Channel
    let received: AsyncStream<ByteBuffer>

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let continuation: AsyncStream<ByteBuffer>.Continuation

        init(_ continuation: AsyncStream<ByteBuffer>.Continuation) {
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            continuation.yield(unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }

    static func open(_ url: String) async throws -> RawConnection {
        let hostPort = url.replacingOccurrences(of: "http://", with: "").replacingOccurrences(of: "ws://", with: "")
            .split(separator: "/")[0].split(separator: ":")
        let (stream, continuation) = AsyncStream.makeStream(of: ByteBuffer.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(continuation)) }
            }
            .connect(host: String(hostPort[0]), port: Int(hostPort[1])!).get()
        return RawConnection(channel: channel, received: stream)
    }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Everything the server sends until it closes the connection (or `within` passes: then nil).
    func readToClose(within: Duration = .seconds(20)) async throws -> String? {
        try await withThrowingTaskGroup(of: String?.self) { group in
            group.addTask {
                var text = ""
                for await buffer in received { text += String(buffer: buffer) }
                return text
            }
            group.addTask {
                try await Task.sleep(for: within)
                return nil
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// A raw HTTP answer: status and JSON body.
struct RawAnswer {
    var status: Int
    var headers: [String: String]
    var json: [String: Any]

    init?(_ text: String) {
        guard let split = text.range(of: "\r\n\r\n") else { return nil }
        let head = text[..<split.lowerBound].split(separator: "\r\n")
        guard let statusLine = head.first, let code = statusLine.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return nil }
        status = code
        headers = Dictionary(
            head.dropFirst().compactMap { line -> (String, String)? in
                guard let colon = line.firstIndex(of: ":") else { return nil }
                return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
            }, uniquingKeysWith: { a, _ in a })
        json = (try? JSONSerialization.jsonObject(with: Data(text[split.upperBound...].utf8))) as? [String: Any] ?? [:]
    }
}

@Suite(.serialized) struct ListenerLimitsTests {
    /// What the HTTP parser rejects gets a JSON error naming the problem, on the API (HTTP/1) and on a node (HTTP/1
    /// with the WebSocket upgrade), and both stay healthy.
    @Test func whatTheParserRejectsGetsAJSON4xx() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let node = endpoints.nodes[0].sseURL.replacingOccurrences(of: "/events", with: "")
            let cases: [(String, String, Int, String)] = [
                ("a garbage request line", "GARBAGE\r\n\r\n", 400, "bad_method"),
                ("Content-Length: abc", "POST /api/emojis HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", 400, "bad_content_length"),
                ("a 100 KB header", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n", 431, "headers_too_large"),
                ("a broken chunk size", "POST /api/emojis HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400, "bad_transfer_encoding"),
            ]
            for server in [endpoints.api, node] {
                for (what, bytes, status, code) in cases {
                    let connection = try await RawConnection.open(server)
                    try await connection.send(bytes)
                    let text = try #require(try await connection.readToClose(), "\(what) on \(server): not closed")
                    let answer = try #require(RawAnswer(text), "\(what) on \(server): \(text)")
                    #expect(answer.status == status, "\(what) on \(server): \(text)")
                    #expect(answer.json["error"] as? String == code, "\(what) on \(server): \(text)")
                    #expect(answer.headers["content-type"] == "application/json")
                }
                #expect(try await request(.GET, server + "/healthz", contentType: nil).status == 200)
            }
            // A chunked body past the ingest limit (no Content-Length to refuse it by).
            let connection = try await RawConnection.open(endpoints.api)
            try await connection.send(
                "POST /api/emojis HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            let chunk = String(repeating: "a", count: 65_536)
            for _ in 0..<32 { try? await connection.send(String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n") }
            try? await connection.send("0\r\n\r\n")
            let text = try #require(try await connection.readToClose())
            let answer = try #require(RawAnswer(text), "\(text)")
            #expect(answer.status == 413 && answer.json["error"] as? String == "payload_too_large", "\(text)")
            reliabilityRow(
                "abuse", "garbage request line, Content-Length: abc, 100 KB header, broken chunking, 2 MiB chunked body (API and node)",
                "JSON 400 bad_method / 400 bad_content_length / 431 headers_too_large / 400 bad_transfer_encoding / 413 payload_too_large; both stay healthy")
        }
    }

    /// Slowloris: connections that trickle their headers, or announce a body they never send, are cut with a JSON
    /// 408 after the configured time, idle keep-alive connections are closed, and nobody else waits meanwhile.
    @Test func slowAndIdleConnectionsAreCutWhileOthersAreServed() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let node = endpoints.nodes[0].sseURL.replacingOccurrences(of: "/events", with: "")
            var slow: [RawConnection] = []
            let openedAt = ContinuousClock.now
            for index in 0..<200 {
                let connection = try await RawConnection.open(index % 2 == 0 ? endpoints.api : node)
                try await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\n")
                slow.append(connection)
            }
            let body = try await RawConnection.open(endpoints.api)
            try await body.send(
                "POST /api/emojis HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\"")
            // Meanwhile everyone else is served.
            let servedFrom = ContinuousClock.now
            for _ in 0..<20 {
                #expect(try await request(.GET, endpoints.api + "/healthz", contentType: nil).status == 200)
                #expect(try await request(.GET, node + "/healthz", contentType: nil).status == 200)
            }
            let served = ContinuousClock.now - servedFrom
            // A trickle keeps nothing alive: a header line every 300 ms.
            let trickling = try await RawConnection.open(endpoints.api)
            try await trickling.send("GET /healthz HTTP/1.1\r\n")
            let trickle = Task {
                for line in 0..<100 {
                    try await Task.sleep(for: .milliseconds(300))
                    try await trickling.send("X-\(line): y\r\n")
                }
            }
            defer { trickle.cancel() }
            for connection in slow {
                let text = try #require(try await connection.readToClose(), "a slow connection was not cut")
                let answer = try #require(RawAnswer(text), "\(text)")
                #expect(answer.status == 408 && answer.json["error"] as? String == "request_timeout", "\(text)")
            }
            let bodyText = try #require(try await body.readToClose(), "a request with a missing body was not cut")
            #expect(RawAnswer(bodyText)?.status == 408, "\(bodyText)")
            #expect(RawAnswer(bodyText)?.json["message"] as? String ?? "" != "", "\(bodyText)")
            #expect(try await trickling.readToClose() != nil, "a trickling connection was not cut")
            let cut = ContinuousClock.now - openedAt

            // An idle keep-alive connection after its answer is closed too.
            let idle = try await RawConnection.open(endpoints.api)
            try await idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            let idleText = try #require(try await idle.readToClose(), "an idle keep-alive connection was kept")
            #expect(RawAnswer(idleText)?.status == 200)
            let metrics = try await request(.GET, endpoints.api + "/metrics", contentType: nil).text
            #expect(metrics.contains("emostream_http_timeouts_total"), "\(metrics.prefix(500))")
            reliabilityRow(
                "abuse", "200 connections sending half a head (slowloris), 1 trickling a header line every 300 ms, 1 short body; header/body timeout 2 s",
                "all cut with JSON 408 request_timeout within \(seconds(cut)) of opening; meanwhile 40 other requests answered in \(seconds(served)); idle keep-alive closed")
        } configure: { configuration in
            configuration.listener.headerTimeout = .seconds(2)
            configuration.listener.bodyTimeout = .seconds(2)
        }
    }

    /// Past the connection cap a new connection is answered `503 too_many_connections` with `Retry-After` and
    /// closed; once connections close, new ones are served again.
    @Test func connectionsPastTheCapAreRefusedWithAJSON503() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let node = endpoints.nodes[0].sseURL.replacingOccurrences(of: "/events", with: "")
            var held: [RawConnection] = []
            var refusal: RawAnswer?
            for _ in 0..<40 {
                let connection = try await RawConnection.open(node)
                held.append(connection)
                // Nothing sent: only a refused connection hears anything before the header timeout.
                if let text = try await connection.readToClose(within: .milliseconds(300)), let answer = RawAnswer(text) {
                    refusal = answer
                    break
                }
            }
            let refused = try #require(refusal, "40 connections to a node capped at 20 were all held")
            #expect(held.count <= 21)
            #expect(refused.status == 503 && refused.json["error"] as? String == "too_many_connections")
            #expect(refused.headers["retry-after"] == "1")
            reliabilityRow(
                "abuse", "idle connections to a node capped at 20 (--max-connections 20)",
                "connection \(held.count) answered 503 too_many_connections, Retry-After: 1, and closed; served again once others closed")
            for connection in held { connection.close() }
            let served = try await withDeadline("the node to serve again") {
                while true {
                    if let result = try? await request(.GET, node + "/healthz", contentType: nil), result.status == 200 {
                        return true
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            #expect(served)
        } configure: { configuration in
            configuration.listener.maxConnections = 20
            configuration.listener.headerTimeout = .seconds(60)
        }
    }

    @Test func connectionsArrivingFasterThanTheRateAreRefused() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let node = endpoints.nodes[0].sseURL.replacingOccurrences(of: "/events", with: "")
            var refused = 0
            var connections: [RawConnection] = []
            for _ in 0..<60 {
                let connection = try await RawConnection.open(node)
                connections.append(connection)
                // A refused connection may be closed before this is written.
                try? await connection.send("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            }
            for connection in connections {
                let text = try #require(try await connection.readToClose())
                let answer = try #require(RawAnswer(text), "\(text)")
                if answer.status == 503 {
                    #expect(answer.json["error"] as? String == "connection_rate")
                    refused += 1
                } else {
                    #expect(answer.status == 200)
                }
            }
            #expect(refused > 0 && refused < 60, "\(refused) of 60 refused")
            reliabilityRow(
                "abuse", "60 connections at once to a node limited to 20/s (--max-connection-rate 20)",
                "\(60 - refused) served, \(refused) answered 503 connection_rate")
        } configure: { configuration in
            configuration.listener.maxConnectionRate = 20
        }
    }
}

@Suite struct ConnectionLimiterTests {
    @Test func theRateRefillsOverTimeAndTheCapHolds() {
        let start = ContinuousClock.now
        let limiter = ConnectionLimiter(limits: ListenerLimits(maxConnections: 3, maxConnectionRate: 2), server: "t")
        #expect(limiter.open(now: start) == nil)
        #expect(limiter.open(now: start) == nil)
        #expect(limiter.open(now: start) == .connectionRate)
        #expect(limiter.open(now: start + .milliseconds(600)) == nil)
        #expect(limiter.open(now: start + .seconds(5)) == .tooManyConnections)
        limiter.close()
        #expect(limiter.open(now: start + .seconds(5)) == nil)
        #expect(limiter.openConnections == 3)
    }
}
