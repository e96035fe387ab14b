import ServiceLifecycle

/// Ends every viewer connection of the given hubs when graceful shutdown begins, after `beforeClosing` (the node
/// leaves placement) and telling each viewer to reconnect: `{"type":"reconnect","reason":"node_shutting_down",…}`.
/// Put it last in a `ServiceGroup` (services stop in reverse order): long-lived WebSocket and SSE connections would
/// otherwise keep the node servers waiting for them forever.
public struct ViewerShutdown: Service {
    let hubs: [BurstHub]
    let beforeClosing: @Sendable () async -> Void

    static let farewell =
        #"{"message":"this node is stopping: connect again (POST /api/connect) and resume with after=<the last seq you saw>","reason":"node_shutting_down","type":"reconnect"}"#

    public init(hubs: [BurstHub], beforeClosing: @escaping @Sendable () async -> Void = {}) {
        self.hubs = hubs
        self.beforeClosing = beforeClosing
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await beforeClosing()
        for hub in hubs { hub.closeAll(farewell: Self.farewell) }
    }
}
