import Hummingbird
import Logging
import Prometheus

/// The HTTP server of a process that serves no API of its own (a stream processor, the publisher): `/healthz`
/// and `/metrics` (and `/openapi.json`), on the port given by `--metrics-port`.
public enum OperationsServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Connection cap and rate, header and body timeouts of the listener.
        public var limits: ListenerLimits
        /// Serve HTTPS; nil: plain HTTP.
        public var tls: TLSSettings?

        public init(host: String = "127.0.0.1", port: Int, limits: ListenerLimits = ListenerLimits(), tls: TLSSettings? = nil) {
            self.host = host
            self.port = port
            self.limits = limits
            self.tls = tls
        }
    }

    /// - Parameters:
    ///   - role: names the process in `/healthz` (`{"status":"ok","role":…}`).
    ///   - logProblem: what is wrong with the event log now (nil: nothing); `/healthz` answers 503 while there is.
    public static func buildApplication(
        configuration: Configuration, role: String, registry: PrometheusCollectorRegistry, logger: Logger,
        logProblem: (@Sendable () async -> String?)? = nil,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(role: role, registry: registry, logProblem: logProblem),
            server: .emostream(
                .guardedHTTP1(
                    ConnectionLimiter(
                        limits: configuration.limits, server: role, metrics: PrometheusMetricsFactory(registry: registry))),
                tls: configuration.tls),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: role),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// The routes of the operations server: ``addRoutes(to:role:registry:logProblem:)`` and `GET /openapi.json`.
    public static func buildRouter(
        role: String, registry: PrometheusCollectorRegistry, logProblem: (@Sendable () async -> String?)? = nil
    ) -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(JSONErrorMiddleware())
        addRoutes(to: router, role: role, registry: registry, logProblem: logProblem)
        router.addOpenAPIRoute(for: [.operations])
        return router
    }

    /// `GET /healthz` and `GET /metrics` on `router`. With `logProblem`, `/healthz` reports the event log too:
    /// `{"status":"ok","role":…,"log":"ok"}`, or 503 `{"status":"unavailable","log":"unavailable","problem":…}`.
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, role: String, registry: PrometheusCollectorRegistry,
        logProblem: (@Sendable () async -> String?)? = nil
    ) {
        router.get("/healthz") { _, _ in
            guard let logProblem else { return jsonResponse(["status": "ok", "role": role]) }
            if let problem = await logProblem() {
                return jsonResponse(
                    ["status": "unavailable", "role": role, "log": "unavailable", "problem": problem],
                    status: .serviceUnavailable)
            }
            return jsonResponse(["status": "ok", "role": role, "log": "ok"])
        }
        router.get("/metrics") { _, _ in metricsResponse(registry) }
    }
}
