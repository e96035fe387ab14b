import AsyncAlgorithms
import EmoStore
import Foundation
import Logging
import Metrics
import ServiceLifecycle

/// Stops placement on a node as soon as the gateway cannot reach it, instead of after the node TTL: every
/// `interval` it asks each live node's `/healthz` (``NodeProbe/problem(_:timeout:)``: a TCP connect over TLS), and a
/// node that refuses, is frozen or does not answer within `timeout` `failuresToMark` times in a row is marked
/// unreachable in the store
/// (``PlacementStore/markNodeUnreachable(node:)``). From then on it gets no viewers, and its sessions no longer count
/// against their users' tier limits, so viewers of a killed node are placed again at once. A node that was only
/// slow comes back with its next heartbeat.
public struct NodeProber: Service {
    public struct Configuration: Sendable {
        public var interval: Duration = .seconds(1)
        public var timeout: Duration = .seconds(1)
        public var failuresToMark = 2

        public init() {}
    }

    let store: any PlacementStore
    let nodeTTL: Duration
    let configuration: Configuration
    let logger: Logger
    let marked: Counter

    public init(
        store: any PlacementStore, nodeTTL: Duration, configuration: Configuration = .init(), logger: Logger,
        metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.store = store
        self.nodeTTL = nodeTTL
        self.configuration = configuration
        self.logger = logger
        self.marked = Counter(label: "emostream_gateway_nodes_marked_unreachable_total", factory: metrics)
    }

    public func run() async throws {
        var failures: [String: Int] = [:]
        for await _ in AsyncTimerSequence(interval: configuration.interval, clock: .continuous).cancelOnGracefulShutdown() {
            let live: [NodeStatus]
            do {
                live = try await store.nodes(now: Date(), nodeTTL: nodeTTL).filter(\.isLive)
            } catch {
                logger.debug("node probe: cannot list nodes", metadata: ["error": "\(error)"])
                continue
            }
            let results = await withTaskGroup(of: (String, String?).self) { group in
                for node in live {
                    group.addTask { (node.name, await NodeProbe.problem(node.sseURL, timeout: configuration.timeout)) }
                }
                var results: [(String, String?)] = []
                for await result in group { results.append(result) }
                return results
            }
            failures = failures.filter { name, _ in live.contains { $0.name == name } }
            for (name, problem) in results {
                guard let problem else {
                    failures[name] = nil
                    continue
                }
                let count = (failures[name] ?? 0) + 1
                failures[name] = count
                guard count >= configuration.failuresToMark else { continue }
                failures[name] = nil
                do {
                    try await store.markNodeUnreachable(node: name)
                    marked.increment()
                    logger.warning(
                        "node unreachable: no more viewers placed on it, its sessions' slots are free",
                        metadata: ["node": "\(name)", "problem": "\(problem)", "probes": "\(count)"])
                } catch {
                    logger.warning("could not mark a node unreachable", metadata: ["node": "\(name)", "error": "\(error)"])
                }
            }
        }
    }
}
