import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// Request context of a cluster node: keeps the connection's channel so that a stalled viewer can be
/// disconnected even while a write to it is blocked.
public struct NodeRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<Self>
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
