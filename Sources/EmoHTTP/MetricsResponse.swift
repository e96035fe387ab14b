import Hummingbird
import NIOCore
import Prometheus

/// `GET /metrics`: the registry's series in Prometheus' text exposition format.
public func metricsResponse(_ registry: PrometheusCollectorRegistry) -> Response {
    Response(
        status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
        body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
}
