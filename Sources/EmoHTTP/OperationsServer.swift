import Hummingbird
import Logging
import Prometheus

/// The HTTP server of a process that serves no API of its own (a stream processor, the publisher): `/healthz`
/// and `/metrics`, on the port given by `--metrics-port`.
public enum OperationsServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int

        public init(host: String = "127.0.0.1", port: Int) {
            self.host = host
            self.port = port
        }
    }

    /// - Parameter role: names the process in `/healthz` (`{"status":"ok","role":…}`).
    public static func buildApplication(
        configuration: Configuration, role: String, registry: PrometheusCollectorRegistry, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(JSONErrorMiddleware())
        addRoutes(to: router, role: role, registry: registry)
        return Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: role),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger)
    }

    /// `GET /healthz` and `GET /metrics` on `router`.
    public static func addRoutes<Context: RequestContext>(
        to router: Router<Context>, role: String, registry: PrometheusCollectorRegistry
    ) {
        router.get("/healthz") { _, _ in jsonResponse(["status": "ok", "role": role]) }
        router.get("/metrics") { _, _ in metricsResponse(registry) }
    }
}
