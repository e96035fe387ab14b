import NIOCore

/// Splits the inbound byte stream into Kafka frames (int32 big-endian size, then that many bytes).
struct KafkaFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer
    /// Frames above this are treated as a protocol violation (a misaligned stream).
    let maxFrameSize: Int

    init(maxFrameSize: Int = 256 * 1024 * 1024) {
        self.maxFrameSize = maxFrameSize
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let size = buffer.getInteger(at: buffer.readerIndex, as: Int32.self) else { return .needMoreData }
        guard size >= 0, Int(size) <= maxFrameSize else {
            throw KafkaError(.protocolViolation, "bad frame size \(size)")
        }
        guard buffer.readableBytes >= 4 + Int(size) else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 4)
        let frame = buffer.readSlice(length: Int(size))!
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    mutating func decodeLast(
        context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool
    ) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}
