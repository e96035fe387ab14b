import EmoHTTP
import EventLog
import Hummingbird
import Ingest
import Prometheus
import Testing

/// `emostream ingest` registers exactly the OpenAPI document's `ingest` operations.
@Suite struct IngestOpenAPITests {
    @Test func theIngestServerRegistersExactlyItsDocumentedRoutes() {
        let registry = PrometheusCollectorRegistry()
        let router = IngestServer.buildRouter(
            controller: IngestController(log: EmbeddedEventLog(), metrics: PrometheusMetricsFactory(registry: registry)),
            registry: registry)
        let documented = OpenAPIDocument.bundled.routes(for: [.ingest])
        #expect(router.registeredRoutes.sorted() == documented.sorted())
        #expect(documented.contains(.init(method: "POST", path: "/api/emojis")))
    }
}
