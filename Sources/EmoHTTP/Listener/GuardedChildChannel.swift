import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1

/// A child channel that sets up `Base` (HTTP/1, or HTTP/1 with a WebSocket upgrade) and puts an ``HTTPGuardHandler``
/// right after its HTTP decoder.
public struct GuardedChildChannel<Base: ServerChildChannel>: ServerChildChannel {
    public typealias Value = Base.Value

    let base: Base
    let limiter: ConnectionLimiter

    public init(_ base: Base, limiter: ConnectionLimiter) {
        self.base = base
        self.limiter = limiter
    }

    public func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger).flatMapThrowing { value in
            let operations = channel.pipeline.syncOperations
            let decoder = try operations.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try operations.addHandler(HTTPGuardHandler(limiter: limiter), position: .after(decoder))
            return value
        }
    }

    public func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1 behind an ``HTTPGuardHandler``.
    public static func guardedHTTP1(_ limiter: ConnectionLimiter) -> HTTPServerBuilder {
        HTTPServerBuilder { responder in GuardedChildChannel(HTTP1Channel(responder: responder), limiter: limiter) }
    }
}
