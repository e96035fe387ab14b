import NIOCore

/// Appends Kafka protocol primitives (big-endian integers, varints, classic and compact strings/bytes/arrays,
/// tagged-field sections) to a `ByteBuffer`. Package-visible: the fuzz target `Fuzz/FuzzKafka` writes its seed
/// responses with it.
package struct KafkaWriter {
    package var buffer: ByteBuffer

    package init(capacity: Int = 256) {
        self.buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    package init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    package mutating func writeInt8(_ value: Int8) { buffer.writeInteger(value) }
    package mutating func writeInt16(_ value: Int16) { buffer.writeInteger(value) }
    package mutating func writeInt32(_ value: Int32) { buffer.writeInteger(value) }
    package mutating func writeInt64(_ value: Int64) { buffer.writeInteger(value) }
    package mutating func writeUInt32(_ value: UInt32) { buffer.writeInteger(value) }
    package mutating func writeBool(_ value: Bool) { buffer.writeInteger(value ? UInt8(1) : UInt8(0)) }

    /// LEB128 unsigned varint (7 bits per byte, low group first).
    package mutating func writeUVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            buffer.writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        buffer.writeInteger(UInt8(truncatingIfNeeded: v))
    }

    /// Zig-zag encoded signed 32-bit varint.
    package mutating func writeVarint(_ value: Int32) {
        let zigzag = UInt32(bitPattern: (value << 1) ^ (value >> 31))
        writeUVarint(UInt64(zigzag))
    }

    /// Zig-zag encoded signed 64-bit varint ("varlong").
    package mutating func writeVarlong(_ value: Int64) {
        let zigzag = UInt64(bitPattern: (value << 1) ^ (value >> 63))
        writeUVarint(zigzag)
    }

    // MARK: classic (non-flexible) encodings

    /// STRING: int16 length + UTF-8.
    package mutating func writeString(_ value: String) {
        let utf8 = value.utf8
        buffer.writeInteger(Int16(utf8.count))
        buffer.writeBytes(utf8)
    }

    /// NULLABLE_STRING: int16 length (-1 = null) + UTF-8.
    package mutating func writeNullableString(_ value: String?) {
        guard let value else {
            buffer.writeInteger(Int16(-1))
            return
        }
        writeString(value)
    }

    /// NULLABLE_BYTES: int32 length (-1 = null) + bytes.
    package mutating func writeNullableBytes(_ value: ByteBuffer?) {
        guard var value else {
            buffer.writeInteger(Int32(-1))
            return
        }
        buffer.writeInteger(Int32(value.readableBytes))
        buffer.writeBuffer(&value)
    }

    /// ARRAY length: int32 count (-1 = null).
    package mutating func writeArrayCount(_ count: Int?) {
        buffer.writeInteger(Int32(count ?? -1))
    }

    // MARK: compact (flexible) encodings

    /// COMPACT_STRING: uvarint(N+1) + UTF-8.
    package mutating func writeCompactString(_ value: String) {
        let utf8 = value.utf8
        writeUVarint(UInt64(utf8.count) + 1)
        buffer.writeBytes(utf8)
    }

    /// COMPACT_NULLABLE_STRING: 0 = null, else uvarint(N+1) + UTF-8.
    package mutating func writeCompactNullableString(_ value: String?) {
        guard let value else {
            writeUVarint(0)
            return
        }
        writeCompactString(value)
    }

    /// COMPACT_BYTES: uvarint(N+1) + bytes.
    package mutating func writeCompactBytes(_ value: ByteBuffer) {
        var value = value
        writeUVarint(UInt64(value.readableBytes) + 1)
        buffer.writeBuffer(&value)
    }

    /// COMPACT_NULLABLE_BYTES: 0 = null, else uvarint(N+1) + bytes.
    package mutating func writeCompactNullableBytes(_ value: ByteBuffer?) {
        guard let value else {
            writeUVarint(0)
            return
        }
        writeCompactBytes(value)
    }

    /// COMPACT_ARRAY / COMPACT_NULLABLE_ARRAY length: 0 = null, else uvarint(N+1).
    package mutating func writeCompactArrayCount(_ count: Int?) {
        guard let count else {
            writeUVarint(0)
            return
        }
        writeUVarint(UInt64(count) + 1)
    }

    package mutating func writeCompactArray<T>(_ elements: [T], _ body: (inout KafkaWriter, T) -> Void) {
        writeCompactArrayCount(elements.count)
        for element in elements { body(&self, element) }
    }

    package mutating func writeUUID(_ bytes: (UInt64, UInt64)) {
        buffer.writeInteger(bytes.0)
        buffer.writeInteger(bytes.1)
    }

    /// An empty tagged-field section (a single 0x00).
    package mutating func writeEmptyTaggedFields() {
        buffer.writeInteger(UInt8(0))
    }
}
