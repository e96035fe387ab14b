import ServiceLifecycle

/// Ends every viewer connection of the given hubs when graceful shutdown begins. Put it last in a
/// `ServiceGroup` (services stop in reverse order): long-lived WebSocket and SSE connections would otherwise
/// keep the node servers waiting for them forever.
public struct ViewerShutdown: Service {
    let hubs: [BurstHub]

    public init(hubs: [BurstHub]) {
        self.hubs = hubs
    }

    public func run() async throws {
        try? await gracefulShutdown()
        for hub in hubs { hub.closeAll() }
    }
}
