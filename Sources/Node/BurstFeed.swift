import EmoCore
import EventLog
import AsyncAlgorithms
import Logging
import Metrics
import PipelineTopics
import ServiceLifecycle

/// Reads `publisher-emojis` (every partition, no group: every node sees every burst) into a node's hub, and
/// sends the hub's keepalives.
public struct BurstFeed: Service {
    let log: any EventLog
    let hub: BurstHub
    let logger: Logger
    let keepaliveInterval: Duration
    let metrics: any MetricsFactory

    public init(
        log: any EventLog, hub: BurstHub, logger: Logger, metrics: any MetricsFactory,
        keepaliveInterval: Duration = .seconds(15)
    ) {
        self.log = log
        self.metrics = metrics
        self.hub = hub
        self.logger = logger
        self.keepaliveInterval = keepaliveInterval
    }

    public func run() async throws {
        // Start with the last bursts so that `?after=` replays work right after a node starts.
        let options = ConsumerOptions(
            topic: PipelineTopics.bursts.name, start: .tail(hub.configuration.ringCapacity), clientID: hub.configuration.node)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                for try await _ in AsyncTimerSequence(interval: keepaliveInterval, clock: .continuous).cancelOnGracefulShutdown() {
                    hub.keepalive()
                }
            }
            // The frames are forwarded as the publisher encoded them.
            try await log.consume(PipelineTopics.bursts, options, logger: logger, metrics: metrics, maxWait: .seconds(1)) {
                [hub] poll, _ in
                for burst in poll.values {
                    hub.publish(BurstFrame(channel: burst.channel, seq: burst.seq, payload: burst.frame))
                }
            }
            group.cancelAll()
        }
    }
}
