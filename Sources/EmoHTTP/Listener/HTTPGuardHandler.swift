import Foundation
import NIOCore
import NIOHTTP1

/// Sits right after the HTTP/1 decoder of every EmoStream listener and enforces its ``ListenerLimits``:
/// - a connection over the cap or the rate is answered `503 too_many_connections` / `503 connection_rate` with
///   `Retry-After` and closed at once;
/// - a request head must be complete within `headerTimeout` of the connection opening (`408 request_timeout`),
///   and an idle keep-alive connection is closed after the same time;
/// - a request body must be complete within `bodyTimeout` of its head (`408 request_timeout` while no response has
///   started);
/// - what the HTTP parser rejects (a garbage request line, an oversized header, `Content-Length: abc`, broken
///   chunking) is answered with a JSON 4xx naming the problem instead of an empty one.
/// On a connection upgraded to WebSocket it only forwards (after the 101 response); the slot is held until the
/// channel closes.
final class HTTPGuardHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        /// Waiting for a request head: the first one, or (`idle`) the next one on a keep-alive connection.
        case awaitingHead(idle: Bool)
        case readingBody
        case bodyRead
    }

    private let limiter: ConnectionLimiter
    private var phase = Phase.awaitingHead(idle: false)
    private var started = false
    /// Requests read whose response has not ended.
    private var inFlight = 0
    private var responseStarted = false
    private var upgrading = false
    private var answeredAndClosing = false
    private var timer: Scheduled<Void>?

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func start(context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        if let refusal = limiter.open() {
            let message =
                refusal == .tooManyConnections
                ? "this server holds as many connections as it may (\(limiter.maxConnections)); try again shortly"
                : "new connections arrive faster than this server accepts them (\(limiter.limits.maxConnectionRate)/s)"
            answer(context: context, status: .serviceUnavailable, code: refusal.rawValue, message: message, retryAfter: 1)
            return
        }
        context.channel.closeFuture.whenComplete { [limiter] _ in limiter.close() }
        arm(context: context, after: limiter.limits.headerTimeout)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if upgrading {
            context.fireChannelRead(data)
            return
        }
        guard !answeredAndClosing else { return }
        switch unwrapInboundIn(data) {
        case .head:
            inFlight += 1
            phase = .readingBody
            arm(context: context, after: limiter.limits.bodyTimeout)
        case .body:
            break
        case .end:
            phase = .bodyRead
            cancelTimer()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if upgrading {
            context.write(data, promise: promise)
            return
        }
        switch unwrapOutboundIn(data) {
        case .head(let head):
            responseStarted = true
            context.write(data, promise: promise)
            if head.status == .switchingProtocols {
                // A WebSocket from here on: whatever passes is forwarded untouched.
                upgrading = true
                cancelTimer()
            }
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseStarted = false
            inFlight = max(0, inFlight - 1)
            context.write(data, promise: promise)
            if upgrading { return }
            if inFlight == 0, case .bodyRead = phase {
                phase = .awaitingHead(idle: true)
                arm(context: context, after: limiter.limits.headerTimeout)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parseError = error as? HTTPParserError, !responseStarted, !answeredAndClosing else {
            context.fireErrorCaught(error)
            return
        }
        limiter.malformed.increment()
        let (status, code, message) = Self.describe(parseError)
        answer(context: context, status: status, code: code, message: message, retryAfter: nil)
    }

    private func arm(context: ChannelHandlerContext, after timeout: Duration) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(timeout)) { [self] in
            self.timedOut(context: context)
        }
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func timedOut(context: ChannelHandlerContext) {
        timer = nil
        guard !answeredAndClosing, context.channel.isActive else { return }
        switch phase {
        case .awaitingHead(idle: true):
            // An idle keep-alive connection: nothing is owed to it.
            limiter.headerTimeouts.increment()
            answeredAndClosing = true
            context.close(promise: nil)
        case .awaitingHead(idle: false):
            limiter.headerTimeouts.increment()
            answer(
                context: context, status: .requestTimeout, code: "request_timeout",
                message: "no complete request head within \(limiter.limits.headerTimeout)", retryAfter: nil)
        case .readingBody:
            limiter.bodyTimeouts.increment()
            if responseStarted {
                answeredAndClosing = true
                context.close(promise: nil)
            } else {
                answer(
                    context: context, status: .requestTimeout, code: "request_timeout",
                    message: "the request body was not complete within \(limiter.limits.bodyTimeout)", retryAfter: nil)
            }
        case .bodyRead:
            break
        }
    }

    /// Writes a JSON error and closes the connection.
    private func answer(
        context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String, retryAfter: Int?
    ) {
        answeredAndClosing = true
        cancelTimer()
        let object: [String: String] = ["error": code, "message": message]
        let body = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        var headers = HTTPHeaders([
            ("Content-Type", "application/json"), ("Content-Length", "\(body.count)"), ("Connection", "close"),
        ])
        if let retryAfter { headers.add(name: "Retry-After", value: "\(retryAfter)") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    static func describe(_ error: HTTPParserError) -> (HTTPResponseStatus, String, String) {
        switch error {
        case .headerOverflow:
            return (.requestHeaderFieldsTooLarge, "headers_too_large", "the request's headers are larger than this server accepts")
        case .invalidContentLength, .unexpectedContentLength:
            return (.badRequest, "bad_content_length", "the Content-Length header is not a valid length")
        case .invalidChunkSize:
            return (.badRequest, "bad_transfer_encoding", "the request body's chunked encoding is malformed")
        case .invalidMethod:
            return (.badRequest, "bad_method", "the request line names no valid HTTP method")
        case .invalidURL:
            return (.badRequest, "bad_url", "the request line's URL is malformed")
        case .invalidVersion:
            return (.badRequest, "bad_version", "the request line names no HTTP version this server speaks")
        case .invalidHeaderToken, .invalidCharactersUsed:
            return (.badRequest, "bad_header", "a header holds characters HTTP does not allow")
        default:
            return (.badRequest, "malformed_request", "the request is not valid HTTP/1.1 (\(error))")
        }
    }
}
