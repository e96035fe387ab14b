import EmoCore
import EmoHTTP
import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Prometheus

/// The HTTP side of a cluster node: viewers connect over WebSocket (`/ws`) or Server-Sent Events (`/events`).
public enum NodeServer {
    public struct Configuration: Sendable {
        public var name: String
        public var host: String
        public var port: Int
        public var capacity: Int
        /// Kernel send buffer of each viewer's socket. Linux grows it up to 4 MiB otherwise, which would let a
        /// stalled viewer hold megabytes before the hub notices.
        public var viewerSocketSendBuffer: Int
        /// Connection cap and rate, header and body timeouts of the listener.
        public var limits = ListenerLimits()
        /// Serve HTTPS and WSS; nil: plain HTTP and WS.
        public var tls: TLSSettings?

        public static let defaultCapacity = 10_000

        public init(
            name: String, host: String = "127.0.0.1", port: Int, capacity: Int = Configuration.defaultCapacity,
            viewerSocketSendBuffer: Int = 64 * 1024, tls: TLSSettings? = nil
        ) {
            self.name = name
            self.host = host
            self.port = port
            self.capacity = capacity
            self.viewerSocketSendBuffer = viewerSocketSendBuffer
            self.tls = tls
        }
    }

    public static func buildApplication(
        configuration: Configuration, hub: BurstHub, admission: any ViewerAdmission, registry: PrometheusCollectorRegistry,
        logger: Logger, beforeServerStarts: @escaping @Sendable () async throws -> Void = {},
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = buildRouter(configuration: configuration, hub: hub, admission: admission, registry: registry)
        let webSocketRouter = Router(context: NodeRequestContext.self)
        webSocketRouter.ws("/ws") { request, _ in
            // Anything wrong is answered by the HTTP route below, as a JSON error.
            let viewer = try ViewerRequest(request)
            _ = try admission.check(ticket: viewer.ticket)
            return .upgrade([:])
        } onUpgrade: { inbound, outbound, context in
            var viewer = try ViewerRequest(context.request)
            let ticket = try admission.check(ticket: viewer.ticket)
            do {
                try await admission.admit(ticket)
            } catch let error as APIError {
                try await outbound.close(.policyViolation, reason: error.code)
                return
            }
            admission.streamStarted(ticket)
            viewer.channel = ticket.channel ?? viewer.channel
            do {
                try await limitSendBuffer(context.requestContext.channel, to: configuration.viewerSocketSendBuffer)
                try await serveWebSocket(
                    viewer: viewer, hub: hub, inbound: inbound, outbound: outbound, channel: context.requestContext.channel,
                    switcher: ChannelSwitcher(admission: admission, ticket: ticket, node: configuration.name))
            } catch {
                await admission.release(ticket)
                throw error
            }
            await admission.release(ticket)
        }
        var nodeLogger = logger
        nodeLogger[metadataKey: "node"] = "\(configuration.name)"
        var application = Application(
            router: router,
            server: .emostream(
                .guarded(
                    webSocketRouter: webSocketRouter,
                    configuration: .init(ws: .init(maxFrameSize: 1 << 16, autoPing: .enabled(timePeriod: .seconds(30)))),
                    limiter: ConnectionLimiter(
                        limits: configuration.limits, server: "node", metrics: PrometheusMetricsFactory(registry: registry))),
                tls: configuration.tls),
            configuration: .init(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: configuration.name),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: nodeLogger
        )
        application.beforeServerStarts(perform: beforeServerStarts)
        return application
    }

    static func buildRouter(
        configuration: Configuration, hub: BurstHub, admission: any ViewerAdmission, registry: PrometheusCollectorRegistry
    ) -> Router<NodeRequestContext> {
        let router = Router(context: NodeRequestContext.self)
        // The web app is served by the gateway (another origin): its EventSource fallback reads `/events`
        // cross-origin. Tickets travel in the URL, never in cookies, so any origin may read.
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(CORSMiddleware(allowOrigin: .all, allowHeaders: [HTTPField.Name("Last-Event-ID")!], allowMethods: [.get]))
        router.middlewares.add(JSONErrorMiddleware())
        router.get("/healthz") { _, _ in
            jsonResponse(["status": "ok", "node": configuration.name, "viewers": hub.viewerCount])
        }
        router.get("/metrics") { _, _ in metricsResponse(registry) }
        router.addOpenAPIRoute(for: [.node])
        router.get("/ws") { request, _ -> Response in
            _ = try admission.check(ticket: try ViewerRequest(request).ticket)
            throw APIError(
                .upgradeRequired, "upgrade_required", "GET /ws is a WebSocket endpoint: send an Upgrade: websocket request",
                headers: [.upgrade: "websocket"])
        }
        router.get("/events") { request, context in
            var viewer = try ViewerRequest(request)
            let ticket = try admission.check(ticket: viewer.ticket)
            try await admission.admit(ticket)
            viewer.channel = ticket.channel ?? viewer.channel
            do {
                try await limitSendBuffer(context.channel, to: configuration.viewerSocketSendBuffer)
            } catch {
                await admission.release(ticket)
                throw error
            }
            return serveEvents(
                request: request, viewer: viewer, hub: hub, channel: context.channel,
                onStart: { admission.streamStarted(ticket) }, onClose: { await admission.release(ticket) })
        }
        return router
    }

    static func serveWebSocket(
        viewer: ViewerRequest, hub: BurstHub, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        channel: any Channel, switcher: ChannelSwitcher
    ) async throws {
        let subscription = hub.subscribe(channel: viewer.channel, after: viewer.after)
        defer { subscription.cancel() }
        try await outbound.write(
            .text(helloMessage(node: hub.configuration.node, channel: viewer.channel, seq: subscription.lastSeq)))
        for frame in subscription.replay {
            try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame.payload)))
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                // The only writer of this socket: bursts, and the node's own messages in their place among them.
                for await event in subscription.frames {
                    switch event {
                    case .burst(let frame):
                        try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: frame.payload)))
                        subscription.didWrite()
                    case .message(let text):
                        try await outbound.write(.text(text))
                    case .keepalive:
                        continue
                    }
                }
            }
            group.addTask {
                // Viewers may ask to switch channel; reading also detects their close.
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    guard case .text(let text) = message else { continue }
                    await switcher.handle(text, subscription: subscription)
                }
            }
            group.addTask { await closeWhenStalled(subscription, channel: channel) }
            try await group.next()
            group.cancelAll()
        }
    }

    static func serveEvents(
        request: Request, viewer: ViewerRequest, hub: BurstHub, channel: any Channel,
        onStart: @escaping @Sendable () -> Void, onClose: @escaping @Sendable () async -> Void
    ) -> Response {
        let subscription = hub.subscribe(channel: viewer.channel, after: viewer.after)
        let hello = helloMessage(node: hub.configuration.node, channel: viewer.channel, seq: subscription.lastSeq)
        let headers: HTTPFields = [
            .contentType: "text/event-stream; charset=utf-8", .cacheControl: "no-cache",
            HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(
            status: .ok, headers: headers,
            body: .init { writer in
                onStart()
                defer { subscription.cancel() }
                do {
                    try await streamEvents(
                        request: request, writer: &writer, subscription: subscription, hello: hello, channel: channel)
                } catch {
                    await onClose()
                    throw error
                }
                await onClose()
                try await writer.finish(nil)
            })
    }

    static func streamEvents(
        request: Request, writer: inout any ResponseBodyWriter, subscription: ViewerSubscription, hello: String,
        channel: any Channel
    ) async throws {
        try await request.body.consumeWithCancellationOnInboundClose { _ in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await closeWhenStalled(subscription, channel: channel) }
                try await writer.write(ByteBuffer(string: "retry: 1000\ndata: \(hello)\n\n"))
                for frame in subscription.replay {
                    try await writer.write(frame.sseEvent)
                }
                for await event in subscription.frames {
                    switch event {
                    case .burst(let frame):
                        try await writer.write(frame.sseEvent)
                        subscription.didWrite()
                    case .message(let text):
                        try await writer.write(ByteBuffer(string: "data: \(text)\n\n"))
                    case .keepalive:
                        try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    }
                }
                group.cancelAll()
            }
        }
    }

    static func limitSendBuffer(_ channel: any Channel, to bytes: Int) async throws {
        try await channel.setOption(ChannelOptions.socketOption(.so_sndbuf), value: SocketOptionValue(bytes)).get()
    }

    /// Closes the connection when the hub gives up on a stalled viewer; returns quietly when cancelled.
    static func closeWhenStalled(_ subscription: ViewerSubscription, channel: any Channel) async {
        for await _ in subscription.closed {}
        if !Task.isCancelled {
            channel.close(mode: .all, promise: nil)
        }
    }
}

