import EventLog
import Foundation
import NIOCore

/// Primitives of the pipeline's binary record formats: big-endian integers and strings prefixed with their UTF-8
/// length (`UInt16`). Readers never trap: a short or inconsistent buffer throws ``RecordDecodingError``.
extension ByteBuffer {
    mutating func writeRecordString(_ string: String) {
        let start = writerIndex
        writeInteger(UInt16(0))
        let length = writeString(string)
        precondition(length <= Int(UInt16.max), "a record string holds at most 65535 bytes")
        setInteger(UInt16(length), at: start)
    }

    mutating func readRecordString() throws(RecordDecodingError) -> String {
        let length = Int(try readRecordInteger(as: UInt16.self))
        guard let view = readSlice(length: length) else { throw .truncated }
        guard let string = view.withUnsafeReadableBytes({ String(validating: $0, as: UTF8.self) }) else {
            throw RecordDecodingError("a string is not UTF-8")
        }
        return string
    }

    mutating func readRecordInteger<T: FixedWidthInteger>(as: T.Type = T.self) throws(RecordDecodingError) -> T {
        guard let value = readInteger(as: T.self) else { throw .truncated }
        return value
    }

    /// A count of items that each take at least `minimumBytes`: never more than the bytes left could hold.
    mutating func readRecordCount(minimumBytes: Int) throws(RecordDecodingError) -> Int {
        let count = Int(try readRecordInteger(as: UInt32.self))
        guard count <= readableBytes / max(1, minimumBytes) else { throw RecordDecodingError("a count exceeds the record") }
        return count
    }

    func requireFullyRead() throws(RecordDecodingError) {
        guard readableBytes == 0 else { throw RecordDecodingError("\(readableBytes) unexpected trailing bytes") }
    }
}

/// A record of the legacy JSON format is held to the rules of the binary one, so that whatever a codec decodes it can
/// encode again (a string of more than 65535 bytes would trap the encoder) and the value means the same either way.
enum LegacyRecord {
    static func requireString(_ string: String, _ what: String) throws(RecordDecodingError) {
        guard string.utf8.count <= Int(UInt16.max) else { throw RecordDecodingError("\(what) is longer than 65535 bytes") }
    }

    static func requireInt32(_ value: Int, _ what: String) throws(RecordDecodingError) {
        guard Int32(exactly: value) != nil else { throw RecordDecodingError("\(what) \(value) is not a 32-bit integer") }
    }
}

/// The first byte of every binary record is its format version. Records of the release before binary formats were
/// JSON objects, which start with `{`, and are still read.
enum RecordFormat {
    static let legacyJSON = UInt8(ascii: "{")

    /// Decodes a record of format `version` with `current` (which must read the whole record), or a legacy JSON
    /// record with `legacy`; any other first byte is an unknown version.
    static func decode<Value>(
        _ buffer: ByteBuffer, version: UInt8, current: (inout ByteBuffer) throws(RecordDecodingError) -> Value,
        legacy: (ByteBuffer) throws -> Value
    ) throws(RecordDecodingError) -> Value {
        var buffer = buffer
        let first = try buffer.readRecordInteger(as: UInt8.self)
        switch first {
        case version:
            let value = try current(&buffer)
            try buffer.requireFullyRead()
            return value
        case legacyJSON:
            buffer.moveReaderIndex(to: buffer.readerIndex - 1)
            do {
                return try legacy(buffer)
            } catch {
                throw RecordDecodingError("legacy JSON record: \(error)")
            }
        default:
            throw .unknownVersion(first)
        }
    }
}
