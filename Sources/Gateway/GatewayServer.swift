import EmoHTTP
import EmoStore
import EmoWeb
import Foundation
import Hummingbird
import Ingest
import Logging
import NIOCore
import Metrics
import Prometheus

/// The API server of EmoStream: the web app, accounts, placement, the operator API, ingest, the node and channel
/// lists, health, metrics and the OpenAPI document.
public enum GatewayServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Connection cap and rate, header and body timeouts of the listener.
        public var limits: ListenerLimits
        /// Origins allowed to call the API from a browser, with credentials (`--cors-origins`); none by default.
        public var corsOrigins: [String]
        /// Serve HTTPS (`--tls-cert`, `--tls-key`); nil: plain HTTP.
        public var tls: TLSSettings?

        public init(
            host: String = "127.0.0.1", port: Int = 8080, limits: ListenerLimits = ListenerLimits(),
            corsOrigins: [String] = [], tls: TLSSettings? = nil
        ) {
            self.host = host
            self.port = port
            self.limits = limits
            self.corsOrigins = corsOrigins
            self.tls = tls
        }
    }

    struct NodeInfo: Encodable {
        var name: String
        var wsURL: String
        var sseURL: String
        var capacity: Int
        var viewers: Int

        enum CodingKeys: String, CodingKey {
            case name
            case wsURL = "ws_url"
            case sseURL = "sse_url"
            case capacity
            case viewers
        }
    }

    /// The gateway's routes. `ingest` is nil in a gateway process that does not accept reactions; `web` serves the
    /// web app at `/` when given.
    public static func buildRouter(
        ingest: IngestController?, accounts: AccountsController, placement: PlacementController, store: any PlacementStore,
        nodeTTL: Duration, registry: PrometheusCollectorRegistry, web: WebController? = nil, admin: AdminController? = nil,
        activity: ChannelActivity? = nil, corsOrigins: [String] = []
    ) -> Router<GatewayRequestContext> {
        let router = Router(context: GatewayRequestContext.self)
        // Outermost first: the security headers and CORS also go on the errors the JSON middleware renders.
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(CORSPolicyMiddleware(origins: corsOrigins))
        router.middlewares.add(JSONErrorMiddleware())
        web?.addRoutes(to: router)
        ingest?.addRoutes(to: router)
        accounts.addRoutes(to: router)
        placement.addRoutes(to: router)
        admin?.addRoutes(to: router)
        router.get("/api/nodes") { _, _ in
            try jsonResponse(
                encoding: try await store.nodes(now: Date(), nodeTTL: nodeTTL).filter(\.isLive).map {
                    NodeInfo(name: $0.name, wsURL: $0.wsURL, sseURL: $0.sseURL, capacity: $0.capacity, viewers: $0.viewers)
                })
        }
        router.get("/healthz") { _, _ in
            let live = try await store.nodes(now: Date(), nodeTTL: nodeTTL).filter(\.isLive).count
            return jsonResponse(["status": "ok", "live_nodes": live])
        }
        if let activity {
            router.get("/api/channels") { request, _ in
                let limit = try channelListLimit(request)
                let channels = try await activity.channels().prefix(limit)
                return try jsonResponse(encoding: ["channels": Array(channels)])
            }
        }
        router.get("/metrics") { _, _ in
            // The per-channel series follow the current top channels.
            _ = try? await activity?.channels()
            return metricsResponse(registry)
        }
        router.addOpenAPIRoute(for: ingest == nil ? [.gateway] : [.gateway, .ingest])
        return router
    }

    /// `?limit=N` of `GET /api/channels`: 1...1000, default 100.
    static func channelListLimit(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("limit") else { return 100 }
        guard let limit = Int(text), (1...1000).contains(limit) else {
            throw APIError(.badRequest, "invalid_limit", "limit must be an integer within 1...1000")
        }
        return limit
    }

    public static func buildApplication(
        configuration: Configuration, router: Router<GatewayRequestContext>, logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory,
        beforeServerStarts: @escaping @Sendable () async throws -> Void = {},
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var application = Application(
            router: router,
            server: .emostream(
                .guardedHTTP1(ConnectionLimiter(limits: configuration.limits, server: "gateway", metrics: metrics)),
                tls: configuration.tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emostream"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
        application.beforeServerStarts(perform: beforeServerStarts)
        return application
    }
}
