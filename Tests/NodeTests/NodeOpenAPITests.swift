import EmoHTTP
import EmoTestSupport
import Hummingbird
import Metrics
@testable import Node
import Prometheus
import Testing

/// A node registers exactly the OpenAPI document's `node` operations.
@Suite struct NodeOpenAPITests {
    @Test func aNodeRegistersExactlyItsDocumentedRoutes() async throws {
        try await withSQLiteStore { store in
            let router = NodeServer.buildRouter(
                configuration: .init(name: "n1", port: 0), hub: BurstHub(configuration: .init(node: "n1"), metrics: NOOPMetricsHandler.instance),
                admission: TicketAdmission(node: "n1", store: store, signer: testSigner, logger: quietLogger),
                registry: PrometheusCollectorRegistry())
            let documented = OpenAPIDocument.bundled.routes(for: [.node])
            #expect(router.registeredRoutes.sorted() == documented.sorted())
            #expect(documented.contains(.init(method: "GET", path: "/events")))
        }
    }
}
