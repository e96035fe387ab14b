import NIOCore

/// Matches responses to requests by correlation id. Lives on the channel's event loop; all state is loop-confined.
final class KafkaRequestHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = PendingRequest
    typealias OutboundOut = ByteBuffer

    /// A request to write: its frame without the correlation id patched in yet.
    struct PendingRequest {
        /// The complete frame (size prefix included); bytes 8..<12 are the correlation id, set by the handler.
        var frame: ByteBuffer
        var promise: EventLoopPromise<ByteBuffer>
        var timeout: TimeAmount
    }

    private struct InFlight {
        var promise: EventLoopPromise<ByteBuffer>
        var timeout: Scheduled<Void>?
    }

    private var nextCorrelationID: Int32 = 0
    private var inFlight: [Int32: InFlight] = [:]
    private var closedError: KafkaError?
    private let description: String

    init(description: String) {
        self.description = description
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var request = unwrapOutboundIn(data)
        if let closedError {
            request.promise.fail(closedError)
            promise?.fail(closedError)
            return
        }
        let id = nextCorrelationID
        nextCorrelationID = nextCorrelationID == Int32.max ? 0 : nextCorrelationID + 1
        request.frame.setInteger(id, at: request.frame.readerIndex + 8)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let timeoutTask = context.eventLoop.scheduleTask(in: request.timeout) {
            let (handler, context) = bound.value
            handler.timedOut(id, context: context)
        }
        inFlight[id] = InFlight(promise: request.promise, timeout: timeoutTask)
        context.write(wrapOutboundOut(request.frame), promise: promise)
    }

    private func timedOut(_ id: Int32, context: ChannelHandlerContext) {
        guard inFlight[id] != nil else { return }
        // The connection's request queue is now in an unknown state: close it, failing everything pending.
        let error = KafkaError(.timeout, "request to \(description) got no response in time")
        failAll(error, except: id)
        inFlight.removeValue(forKey: id)?.promise.fail(error)
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var frame = unwrapInboundIn(data)
        guard let id = frame.readInteger(as: Int32.self), let entry = inFlight.removeValue(forKey: id) else {
            let error = KafkaError(.protocolViolation, "response from \(description) with an unknown correlation id")
            failAll(error)
            context.close(promise: nil)
            return
        }
        entry.timeout?.cancel()
        entry.promise.succeed(frame)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(KafkaError(.connectionClosed, "connection to \(description) closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let kafkaError =
            (error as? KafkaError) ?? KafkaError(.connectionClosed, "connection to \(description) failed: \(error)")
        failAll(kafkaError)
        context.close(promise: nil)
    }

    private func failAll(_ error: KafkaError, except: Int32? = nil) {
        if closedError == nil { closedError = error }
        let entries = inFlight
        inFlight = [:]
        for (id, entry) in entries {
            if id == except {
                inFlight[id] = entry
                continue
            }
            entry.timeout?.cancel()
            entry.promise.fail(error)
        }
    }
}
