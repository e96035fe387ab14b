import EmoHTTP
import Hummingbird
import Ingest
import Logging
import NIOCore
import Prometheus

/// The API server of EmoStream: ingest, the node list, health and metrics. Later: accounts and placement.
public enum GatewayServer {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int

        public init(host: String = "127.0.0.1", port: Int = 8080) {
            self.host = host
            self.port = port
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

    public static func buildRouter(
        ingest: IngestController, nodes: NodeDirectory, registry: PrometheusCollectorRegistry
    ) -> Router<BasicRequestContext> {
        let router = Router()
        ingest.addRoutes(to: router)
        router.get("/api/nodes") { _, _ in
            try jsonResponse(
                encoding: nodes.nodes.map {
                    NodeInfo(name: $0.name, wsURL: $0.wsURL, sseURL: $0.sseURL, capacity: $0.capacity, viewers: $0.hub.viewerCount)
                })
        }
        router.get("/healthz") { _, _ in
            jsonResponse(["status": "ok", "nodes": nodes.nodes.count])
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        return router
    }

    public static func buildApplication(
        configuration: Configuration, router: Router<BasicRequestContext>, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "emostream"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
            logger: logger
        )
    }
}
