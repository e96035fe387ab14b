import EmoStore
import Foundation
import Logging
import Metrics
import NIOCore
import NIOPosix
import Synchronization

/// For a viewer that reconnects naming the ticket of the stream it lost (`"replaces"` in `POST /api/connect`):
/// is that ticket's node down? If it does not answer a probe (``NodeProbe/problem(_:timeout:)``), it is marked unreachable at once
/// (``PlacementStore/markNodeUnreachable(node:)``), so the viewer's old session no longer counts against its tier and
/// it is placed again instead of being told `tier_limit` — ``NodeProber`` would mark the node only after two failed
/// probes a second apart. Nothing is freed on a client's word: only a failed probe of a registered node does it.
///
/// One probe per node at a time serves a whole storm of reconnects: a probe in flight is awaited, and a result
/// younger than `reuse` is taken as it is. Node names come from signed tickets, so the table stays as small as the fleet.
public final class DeadNodeCheck: Sendable {
    struct Entry {
        var probe: Task<Bool, Never>
        var finishedAt: ContinuousClock.Instant?
    }

    let store: any PlacementStore
    let nodeTTL: Duration
    let timeout: Duration
    let reuse: Duration
    let logger: Logger
    let marked: Counter
    private let entries = Mutex<[String: Entry]>([:])

    public init(
        store: any PlacementStore, nodeTTL: Duration, timeout: Duration = .milliseconds(500), reuse: Duration = .milliseconds(500),
        logger: Logger, metrics: any MetricsFactory = MetricsSystem.factory
    ) {
        self.store = store
        self.nodeTTL = nodeTTL
        self.timeout = timeout
        self.reuse = reuse
        self.logger = logger
        self.marked = Counter(label: "emostream_gateway_nodes_marked_unreachable_on_reconnect_total", factory: metrics)
    }

    /// Whether node `name` is down: not registered, not live, or (now marked unreachable) not answering a probe.
    public func isDown(_ name: String) async -> Bool {
        let now = ContinuousClock.now
        let probe: Task<Bool, Never> = entries.withLock { entries in
            if let entry = entries[name], entry.finishedAt.map({ now - $0 < reuse }) ?? true {
                return entry.probe
            }
            let probe = Task { await self.probeAndMark(name) }
            entries[name] = Entry(probe: probe, finishedAt: nil)
            return probe
        }
        return await probe.value
    }

    private func probeAndMark(_ name: String) async -> Bool {
        defer { entries.withLock { $0[name]?.finishedAt = .now } }
        let node: NodeStatus?
        do {
            node = try await store.nodes(now: Date(), nodeTTL: nodeTTL).first { $0.name == name }
        } catch {
            logger.debug("reconnect check: cannot list nodes", metadata: ["error": "\(error)"])
            return false
        }
        guard let node, node.isLive else { return true }
        guard let problem = await NodeProbe.problem(node.sseURL, timeout: timeout) else { return false }
        do {
            try await store.markNodeUnreachable(node: name)
            marked.increment()
            logger.warning(
                "node unreachable (a reconnecting viewer lost its stream there): no more viewers placed on it, its sessions' slots are free",
                metadata: ["node": "\(name)", "problem": "\(problem)"])
            return true
        } catch {
            logger.warning("could not mark a node unreachable", metadata: ["node": "\(name)", "error": "\(error)"])
            return false
        }
    }
}
