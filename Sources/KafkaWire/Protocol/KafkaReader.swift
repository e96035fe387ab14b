import NIOCore

/// Reads Kafka protocol primitives from a `ByteBuffer`; every read throws `KafkaError.protocolViolation` when the
/// data is short or malformed.
struct KafkaReader {
    var buffer: ByteBuffer

    init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    var readableBytes: Int { buffer.readableBytes }

    private func short(_ what: String) -> KafkaError {
        KafkaError(.protocolViolation, "truncated message while reading \(what) (\(buffer.readableBytes) bytes left)")
    }

    mutating func readInt8() throws -> Int8 {
        guard let v = buffer.readInteger(as: Int8.self) else { throw short("int8") }
        return v
    }

    mutating func readInt16() throws -> Int16 {
        guard let v = buffer.readInteger(as: Int16.self) else { throw short("int16") }
        return v
    }

    mutating func readInt32() throws -> Int32 {
        guard let v = buffer.readInteger(as: Int32.self) else { throw short("int32") }
        return v
    }

    mutating func readInt64() throws -> Int64 {
        guard let v = buffer.readInteger(as: Int64.self) else { throw short("int64") }
        return v
    }

    mutating func readUInt32() throws -> UInt32 {
        guard let v = buffer.readInteger(as: UInt32.self) else { throw short("uint32") }
        return v
    }

    mutating func readBool() throws -> Bool {
        try readInt8() != 0
    }

    mutating func readUVarint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = buffer.readInteger(as: UInt8.self) else { throw short("varint") }
            if shift == 63 && byte > 1 { throw KafkaError(.protocolViolation, "varint too long") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw KafkaError(.protocolViolation, "varint too long") }
        }
    }

    mutating func readVarint() throws -> Int32 {
        let raw = try readUVarint()
        guard raw <= UInt64(UInt32.max) else { throw KafkaError(.protocolViolation, "varint exceeds 32 bits") }
        let u = UInt32(raw)
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    mutating func readVarlong() throws -> Int64 {
        let u = try readUVarint()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    private mutating func readUTF8(length: Int, what: String) throws -> String {
        guard length >= 0, let s = buffer.readString(length: length) else { throw short(what) }
        return s
    }

    private mutating func readSlice(length: Int, what: String) throws -> ByteBuffer {
        guard length >= 0, let s = buffer.readSlice(length: length) else { throw short(what) }
        return s
    }

    // MARK: classic

    mutating func readString() throws -> String {
        let length = Int(try readInt16())
        guard length >= 0 else { throw KafkaError(.protocolViolation, "null in a non-nullable string") }
        return try readUTF8(length: length, what: "string")
    }

    mutating func readNullableString() throws -> String? {
        let length = Int(try readInt16())
        if length < 0 { return nil }
        return try readUTF8(length: length, what: "string")
    }

    mutating func readNullableBytes() throws -> ByteBuffer? {
        let length = Int(try readInt32())
        if length < 0 { return nil }
        return try readSlice(length: length, what: "bytes")
    }

    mutating func readArrayCount() throws -> Int? {
        let count = Int(try readInt32())
        if count < 0 { return nil }
        guard count <= buffer.readableBytes else { throw KafkaError(.protocolViolation, "array count \(count) too large") }
        return count
    }

    mutating func readArray<T>(_ body: (inout KafkaReader) throws -> T) throws -> [T] {
        let count = try readArrayCount() ?? 0
        var result: [T] = []
        result.reserveCapacity(Self.reservation(count))
        for _ in 0..<count { result.append(try body(&self)) }
        return result
    }

    /// Room reserved for an array of `count` elements. A count is at most the bytes left (one per element), but an
    /// element takes many times its encoding in memory (a Fetch partition: ~40 bytes on the wire, more in a
    /// struct), so a 256 MiB frame claiming one element per byte must not reserve gigabytes before the first fails.
    static func reservation(_ count: Int) -> Int {
        min(count, 1024)
    }

    // MARK: compact

    private mutating func readCompactLength() throws -> Int? {
        let n = try readUVarint()
        if n == 0 { return nil }
        guard n - 1 <= UInt64(buffer.readableBytes) else {
            throw KafkaError(.protocolViolation, "compact length \(n - 1) exceeds the \(buffer.readableBytes) bytes left")
        }
        return Int(n - 1)
    }

    mutating func readCompactString() throws -> String {
        guard let length = try readCompactLength() else {
            throw KafkaError(.protocolViolation, "null in a non-nullable compact string")
        }
        return try readUTF8(length: length, what: "compact string")
    }

    mutating func readCompactNullableString() throws -> String? {
        guard let length = try readCompactLength() else { return nil }
        return try readUTF8(length: length, what: "compact string")
    }

    mutating func readCompactBytes() throws -> ByteBuffer {
        guard let length = try readCompactLength() else {
            throw KafkaError(.protocolViolation, "null in non-nullable compact bytes")
        }
        return try readSlice(length: length, what: "compact bytes")
    }

    mutating func readCompactNullableBytes() throws -> ByteBuffer? {
        guard let length = try readCompactLength() else { return nil }
        return try readSlice(length: length, what: "compact bytes")
    }

    /// COMPACT_ARRAY count; nil for a null array.
    mutating func readCompactArrayCount() throws -> Int? {
        try readCompactLength()
    }

    mutating func readCompactArray<T>(_ body: (inout KafkaReader) throws -> T) throws -> [T] {
        let count = try readCompactArrayCount() ?? 0
        var result: [T] = []
        result.reserveCapacity(Self.reservation(count))
        for _ in 0..<count { result.append(try body(&self)) }
        return result
    }

    mutating func readUUID() throws -> (UInt64, UInt64) {
        guard let hi = buffer.readInteger(as: UInt64.self), let lo = buffer.readInteger(as: UInt64.self) else {
            throw short("uuid")
        }
        return (hi, lo)
    }

    mutating func skip(_ count: Int) throws {
        guard count >= 0, buffer.readableBytes >= count else { throw short("skipped field") }
        buffer.moveReaderIndex(forwardBy: count)
    }

    /// Skips a tagged-field section, whatever tags it holds.
    mutating func skipTaggedFields() throws {
        let count = try readUVarint()
        guard count <= UInt64(buffer.readableBytes) else { throw KafkaError(.protocolViolation, "tag count \(count) too large") }
        for _ in 0..<count {
            _ = try readUVarint()
            let size = try readUVarint()
            guard size <= UInt64(buffer.readableBytes) else { throw short("tagged field") }
            try skip(Int(size))
        }
    }
}
