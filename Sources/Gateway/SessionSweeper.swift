import AsyncAlgorithms
import EmoStore
import Foundation
import Logging
import ServiceLifecycle

/// Frees the slots of tickets never used in time and of sessions on nodes that stopped heartbeating.
public struct SessionSweeper: Service {
    let store: any PlacementStore
    let interval: Duration
    let nodeTTL: Duration
    let logger: Logger

    public init(store: any PlacementStore, interval: Duration = .seconds(1), nodeTTL: Duration = .seconds(10), logger: Logger) {
        self.store = store
        self.interval = interval
        self.nodeTTL = nodeTTL
        self.logger = logger
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            do {
                let freed = try await store.sweepExpired(now: Date(), nodeTTL: nodeTTL)
                if freed > 0 { logger.info("freed expired viewer sessions", metadata: ["count": "\(freed)"]) }
            } catch {
                logger.warning("session sweep failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
