import EmoHTTP
import Hummingbird
import Logging
import Prometheus

/// `emostream ingest` as a server: `POST /api/emojis` (see ``IngestController``), `/healthz`, `/metrics` and
/// `/openapi.json`.
/// Elsewhere the controller's routes join the gateway's.
public enum IngestServer {
    public struct Configuration: Sendable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8090
        /// Connection cap and rate, header and body timeouts of the listener.
        public var limits = ListenerLimits()
        /// Serve HTTPS; nil: plain HTTP.
        public var tls: TLSSettings?

        public init() {}
    }

    /// `POST /api/emojis`, `/healthz` (with the event log's health), `/metrics` and `/openapi.json`.
    public static func buildRouter(controller: IngestController, registry: PrometheusCollectorRegistry) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(JSONErrorMiddleware())
        controller.addRoutes(to: router)
        OperationsServer.addRoutes(
            to: router, role: "ingest", registry: registry, logProblem: { [log = controller.log] in await log.health().problem })
        router.addOpenAPIRoute(for: [.ingest])
        return router
    }

    public static func buildApplication(
        configuration: Configuration, controller: IngestController, registry: PrometheusCollectorRegistry,
        logger: Logger, beforeServerStarts: @escaping @Sendable () async throws -> Void = {},
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        var application = Application(
            router: buildRouter(controller: controller, registry: registry),
            server: .emostream(
                .guardedHTTP1(
                    ConnectionLimiter(
                        limits: configuration.limits, server: "ingest", metrics: PrometheusMetricsFactory(registry: registry))),
                tls: configuration.tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emostream"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
        application.beforeServerStarts(perform: beforeServerStarts)
        return application
    }
}
