import Logging
import Synchronization

/// Logs refused requests at most once per `interval`, with how many were refused since the last line, so that an
/// outage is visible in the log without a line per request.
final class RefusalLog: Sendable {
    let logger: Logger
    let interval: Duration
    private let state = Mutex(State())

    struct State {
        var lastLogged: ContinuousClock.Instant?
        var suppressed = 0
    }

    init(logger: Logger, interval: Duration = .seconds(5)) {
        self.logger = logger
        self.interval = interval
    }

    func refused(code: String, reason: String) {
        let now = ContinuousClock.now
        let count: Int? = state.withLock { state in
            if let last = state.lastLogged, now - last < interval {
                state.suppressed += 1
                return nil
            }
            let count = state.suppressed + 1
            state.lastLogged = now
            state.suppressed = 0
            return count
        }
        guard let count else { return }
        logger.warning(
            "refusing reactions: \(reason)",
            metadata: ["code": "\(code)", "refused_since_last_line": "\(count)"])
    }
}
