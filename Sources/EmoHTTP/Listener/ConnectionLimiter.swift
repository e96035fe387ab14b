import Metrics
import Synchronization

/// Counts one listener's open connections and meters new ones against ``ListenerLimits``. Shared by every
/// connection of the listener; each holds a slot from `open()` until its channel closes.
public final class ConnectionLimiter: Sendable {
    public enum Refusal: String, Sendable {
        case tooManyConnections = "too_many_connections"
        case connectionRate = "connection_rate"
    }

    struct State {
        var open = 0
        var tokens: Double
        var refilledAt: ContinuousClock.Instant
    }

    public let limits: ListenerLimits
    let maxConnections: Int
    private let state: Mutex<State>
    private let connections: Gauge
    private let refusedTooMany: Counter
    private let refusedRate: Counter
    let headerTimeouts: Counter
    let bodyTimeouts: Counter
    let malformed: Counter

    /// - Parameter server: names the listener in the metrics (`emostream_http_connections{server=…}`).
    public init(limits: ListenerLimits, server: String, metrics: any MetricsFactory = MetricsSystem.factory) {
        self.limits = limits
        self.maxConnections = limits.effectiveMaxConnections
        self.state = Mutex(State(tokens: Double(max(1, limits.maxConnectionRate)), refilledAt: .now))
        let dimensions = [("server", server)]
        connections = Gauge(label: "emostream_http_connections", dimensions: dimensions, factory: metrics)
        refusedTooMany = Counter(
            label: "emostream_http_refused_total", dimensions: dimensions + [("reason", Refusal.tooManyConnections.rawValue)],
            factory: metrics)
        refusedRate = Counter(
            label: "emostream_http_refused_total", dimensions: dimensions + [("reason", Refusal.connectionRate.rawValue)],
            factory: metrics)
        headerTimeouts = Counter(
            label: "emostream_http_timeouts_total", dimensions: dimensions + [("phase", "header")], factory: metrics)
        bodyTimeouts = Counter(
            label: "emostream_http_timeouts_total", dimensions: dimensions + [("phase", "body")], factory: metrics)
        malformed = Counter(label: "emostream_http_malformed_total", dimensions: dimensions, factory: metrics)
    }

    /// Connections open now.
    public var openConnections: Int { state.withLock { $0.open } }

    /// Takes a slot for a new connection, or says why there is none (the caller answers and closes).
    public func open(now: ContinuousClock.Instant = .now) -> Refusal? {
        let result = state.withLock { state -> (Refusal?, Int) in
            guard state.open < maxConnections else { return (.tooManyConnections, state.open) }
            let rate = limits.maxConnectionRate
            if rate > 0 {
                if now > state.refilledAt {
                    let seconds = (now - state.refilledAt) / .seconds(1)
                    state.tokens = min(Double(rate), state.tokens + seconds * Double(rate))
                    state.refilledAt = now
                }
                guard state.tokens >= 1 else { return (.connectionRate, state.open) }
                state.tokens -= 1
            }
            state.open += 1
            return (nil, state.open)
        }
        switch result.0 {
        case .none: connections.record(result.1)
        case .tooManyConnections: refusedTooMany.increment()
        case .connectionRate: refusedRate.increment()
        }
        return result.0
    }

    /// Gives back the slot of a connection that closed.
    public func close() {
        let open = state.withLock { state -> Int in
            state.open -= 1
            return state.open
        }
        connections.record(open)
    }
}
