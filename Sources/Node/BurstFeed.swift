import EmoCore
import EventLog
import Foundation
import Logging
import NIOFoundationCompat
import ServiceLifecycle

/// Reads `publisher-emojis` (every partition, no group: every node sees every burst) into a node's hub, and
/// sends the hub's keepalives.
public struct BurstFeed: Service {
    let log: any EventLog
    let hub: BurstHub
    let logger: Logger
    let keepaliveInterval: Duration

    public init(log: any EventLog, hub: BurstHub, logger: Logger, keepaliveInterval: Duration = .seconds(15)) {
        self.log = log
        self.hub = hub
        self.logger = logger
        self.keepaliveInterval = keepaliveInterval
    }

    public func run() async throws {
        // Start with the last bursts so that `?after=` replays work right after a node starts.
        let consumer = try await log.makeConsumer(
            ConsumerOptions(
                topic: Topics.bursts, start: .tail(hub.configuration.ringCapacity), clientID: hub.configuration.node))
        do {
            try await cancelWhenGracefulShutdown {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { try await feed(consumer) }
                    group.addTask {
                        while true {
                            try await Task.sleep(for: keepaliveInterval)
                            hub.keepalive()
                        }
                    }
                    try await group.next()
                    group.cancelAll()
                }
            }
        } catch is CancellationError {
            // Graceful shutdown.
        }
        await consumer.close()
    }

    func feed(_ consumer: any LogConsumer) async throws {
        let decoder = JSONDecoder()
        while !Task.isCancelled {
            let poll = try await consumer.poll(maxWait: .seconds(1))
            for record in poll.records {
                guard let burst = try? decoder.decode(Burst.self, from: record.value) else {
                    logger.warning("skipping an undecodable burst", metadata: ["offset": "\(record.offset)"])
                    continue
                }
                hub.publish(burst)
            }
        }
    }
}
