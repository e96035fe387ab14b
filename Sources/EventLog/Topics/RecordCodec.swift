import NIOCore

/// Encodes and decodes the values of one topic's records.
///
/// Decoding is pure and total: whatever bytes it is given, it returns a value or throws
/// ``RecordDecodingError`` (never traps), so that a malformed record can be counted and skipped.
public protocol RecordCodec<Value>: Sendable {
    associatedtype Value
    /// Appends the encoding of `value` to `buffer`.
    func encode(_ value: Value, into buffer: inout ByteBuffer)
    func decode(_ buffer: ByteBuffer) throws(RecordDecodingError) -> Value
}

/// A record whose bytes are not a value of its topic.
public struct RecordDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { "malformed record: \(reason)" }

    public static let truncated = RecordDecodingError("truncated")

    public static func unknownVersion(_ version: UInt8) -> RecordDecodingError {
        RecordDecodingError("unknown format version \(version)")
    }
}
