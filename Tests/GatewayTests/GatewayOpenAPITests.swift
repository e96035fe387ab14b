import EmoHTTP
import EmoTestSupport
import EventLog
import Foundation
@testable import Gateway
import Hummingbird
import HummingbirdTesting
import Ingest
import Metrics
import Prometheus
import Testing

/// The gateway's registered routes are the OpenAPI document's `gateway` operations (plus its `ingest` ones when it
/// accepts reactions), and `GET /openapi.json` serves that view.
@Suite struct GatewayOpenAPITests {
    let document = OpenAPIDocument.bundled

    @Test func aGatewayWithoutIngestRegistersExactlyItsDocumentedRoutes() async throws {
        try await withSQLiteStore { store in
            try await withGateway(store: store) { client, gateway in
                #expect(gateway.registeredRoutes.sorted() == document.routes(for: [.gateway]).sorted())
                #expect(!gateway.registeredRoutes.contains(.init(method: "POST", path: "/api/emojis")))
                let response = try await client.execute(uri: "/openapi.json", method: .get)
                #expect(response.status == .ok)
                let served = try json(response)
                #expect((served["openapi"] as? String)?.hasPrefix("3.1.") == true)
                #expect(Set((served["paths"] as? [String: Any] ?? [:]).keys) == Set(document.routes(for: [.gateway]).map(\.path)))
            }
        }
    }

    @Test func aGatewayThatAcceptsReactionsAlsoRegistersTheIngestRoutes() async throws {
        try await withSQLiteStore { store in
            let registry = PrometheusCollectorRegistry()
            var configuration = APIGateway.Configuration()
            configuration.server.port = 0
            let gateway = try APIGateway(
                configuration: configuration,
                dependencies: .init(
                    store: store, signer: testSigner, channels: nil, registry: registry, logger: quietLogger,
                    ingest: IngestController(log: EmbeddedEventLog(), metrics: PrometheusMetricsFactory(registry: registry))))
            #expect(gateway.registeredRoutes.sorted() == document.routes(for: [.gateway, .ingest]).sorted())
            #expect(gateway.registeredRoutes.contains(.init(method: "POST", path: "/api/emojis")))
        }
    }
}
