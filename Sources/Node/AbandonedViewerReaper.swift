import AsyncAlgorithms
import ServiceLifecycle

/// Periodically frees the slots of viewers that were admitted but whose stream never started.
public struct AbandonedViewerReaper: Service {
    let admissions: [any ViewerAdmission]
    let interval: Duration
    let grace: Duration

    public init(admissions: [any ViewerAdmission], interval: Duration = .seconds(2), grace: Duration = .seconds(5)) {
        self.admissions = admissions
        self.interval = interval
        self.grace = grace
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            for admission in admissions {
                await admission.releaseAbandoned(olderThan: grace)
            }
        }
    }
}
