import AsyncAlgorithms
import EmoStore
import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// Registers cluster nodes in the store once they listen, and renews their liveness (and with it that of their
/// viewers' sessions) every `interval`. A node that stops heartbeating is no longer given viewers, and its
/// sessions are freed once the node TTL passes.
public final class NodeHeartbeat: Service {
    struct Registration: Sendable {
        var name: String
        var wsURL: String
        var sseURL: String
        var capacity: Int
    }

    let store: any PlacementStore
    let interval: Duration
    let logger: Logger
    private let nodes = Mutex<[Registration]>([])

    public init(store: any PlacementStore, interval: Duration = .seconds(2), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    public func register(name: String, wsURL: String, sseURL: String, capacity: Int) async throws {
        try await store.registerNode(name: name, wsURL: wsURL, sseURL: sseURL, capacity: capacity, now: Date())
        nodes.withLock { nodes in
            nodes.removeAll { $0.name == name }
            nodes.append(Registration(name: name, wsURL: wsURL, sseURL: sseURL, capacity: capacity))
        }
        logger.info("node registered", metadata: ["node": "\(name)", "ws_url": "\(wsURL)", "capacity": "\(capacity)"])
    }

    /// Takes a node out of placement (capacity 0); its sessions are dropped from the store. Returns false for an
    /// unknown node.
    public func drain(name: String) async throws -> Bool {
        guard let node = nodes.withLock({ nodes -> Registration? in
            guard let index = nodes.firstIndex(where: { $0.name == name }) else { return nil }
            nodes[index].capacity = 0
            return nodes[index]
        }) else { return false }
        try await store.registerNode(name: node.name, wsURL: node.wsURL, sseURL: node.sseURL, capacity: 0, now: Date())
        logger.notice("node drained", metadata: ["node": "\(name)"])
        return true
    }

    /// A node that is stopping: no more heartbeats for it, and it is marked dead in the store at once so that the
    /// gateways place its viewers' reconnects elsewhere (and their slots are free for them).
    public func leave(name: String) async {
        nodes.withLock { $0.removeAll { $0.name == name } }
        do {
            try await store.markNodeUnreachable(node: name)
            logger.notice("node left placement (shutting down)", metadata: ["node": "\(name)"])
        } catch {
            logger.warning("could not take the node out of placement", metadata: ["node": "\(name)", "error": "\(error)"])
        }
    }

    public func run() async throws {
        for await _ in AsyncTimerSequence(interval: interval, clock: .continuous).cancelOnGracefulShutdown() {
            for node in nodes.withLock({ $0 }) {
                do {
                    if try await !store.heartbeat(node: node.name, now: Date()) {
                        // The row is gone (e.g. the store was reset): register again.
                        try await register(name: node.name, wsURL: node.wsURL, sseURL: node.sseURL, capacity: node.capacity)
                    }
                } catch {
                    logger.warning("node heartbeat failed", metadata: ["node": "\(node.name)", "error": "\(error)"])
                }
            }
        }
    }
}
