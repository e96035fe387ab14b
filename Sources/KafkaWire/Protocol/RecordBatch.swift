import NIOCore

/// One record to encode into a batch.
package struct OutgoingRecord: Sendable {
    package var key: ByteBuffer?
    package var value: ByteBuffer?
    package var headers: [KafkaHeader]
    package var timestamp: Int64
    /// The batch asks the broker for LogAppendTime (batches hold one partition's records of one topic, all alike).
    package var logAppendTime = false

    package init(key: ByteBuffer?, value: ByteBuffer?, headers: [KafkaHeader], timestamp: Int64, logAppendTime: Bool = false) {
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
        self.logAppendTime = logAppendTime
    }

    /// An upper bound on the encoded size inside a batch (varint overheads counted at their maximum).
    var estimatedSize: Int {
        var size = 21 + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
        for h in headers { size += 10 + h.key.utf8.count + (h.value?.readableBytes ?? 0) }
        return size
    }
}

/// A record decoded from a fetched batch.
package struct IncomingRecord: Sendable, Equatable {
    package var offset: Int64
    package var timestamp: Int64
    package var key: ByteBuffer?
    package var value: ByteBuffer?
    package var headers: [KafkaHeader]
}

/// RecordBatch v2 (magic 2) encoding and decoding, uncompressed.
package enum RecordBatch {
    /// Size of the fixed batch header.
    static let headerSize = 61

    package struct ProducerState: Sendable {
        var producerID: Int64 = -1
        var producerEpoch: Int16 = -1
        var baseSequence: Int32 = -1

        package init(producerID: Int64 = -1, producerEpoch: Int16 = -1, baseSequence: Int32 = -1) {
            self.producerID = producerID
            self.producerEpoch = producerEpoch
            self.baseSequence = baseSequence
        }
    }

    /// Encodes `records` (at least one) as one batch. Timestamps are CreateTime.
    package static func encode(
        _ records: [OutgoingRecord], producer: ProducerState = .init(), partitionLeaderEpoch: Int32 = -1,
        allocator: ByteBufferAllocator = ByteBufferAllocator()
    ) -> ByteBuffer {
        precondition(!records.isEmpty, "a record batch needs at least one record")
        let baseTimestamp = records[0].timestamp
        var maxTimestamp = baseTimestamp
        var estimated = headerSize
        for r in records {
            maxTimestamp = max(maxTimestamp, r.timestamp)
            estimated += r.estimatedSize
        }
        var w = KafkaWriter(buffer: allocator.buffer(capacity: estimated))
        w.writeInt64(0)  // base offset: the broker assigns
        w.writeInt32(0)  // length, patched below
        w.writeInt32(partitionLeaderEpoch)
        w.writeInt8(2)  // magic
        w.writeUInt32(0)  // crc, patched below
        let crcStart = w.buffer.writerIndex
        // Attributes: no compression, not transactional; CreateTime unless the records ask for the broker's time.
        w.writeInt16(records[0].logAppendTime ? 0x08 : 0)
        w.writeInt32(Int32(records.count - 1))  // last offset delta
        w.writeInt64(baseTimestamp)
        w.writeInt64(maxTimestamp)
        w.writeInt64(producer.producerID)
        w.writeInt16(producer.producerEpoch)
        w.writeInt32(producer.baseSequence)
        w.writeInt32(Int32(records.count))
        var scratch = KafkaWriter(buffer: allocator.buffer(capacity: 256))
        for (index, record) in records.enumerated() {
            scratch.buffer.clear()
            scratch.writeInt8(0)  // record attributes
            scratch.writeVarlong(record.timestamp - baseTimestamp)
            scratch.writeVarint(Int32(index))
            writeVarintBytes(&scratch, record.key)
            writeVarintBytes(&scratch, record.value)
            scratch.writeVarint(Int32(record.headers.count))
            for header in record.headers {
                let keyBytes = header.key.utf8
                scratch.writeVarint(Int32(keyBytes.count))
                scratch.buffer.writeBytes(keyBytes)
                writeVarintBytes(&scratch, header.value)
            }
            w.writeVarint(Int32(scratch.buffer.readableBytes))
            w.buffer.writeImmutableBuffer(scratch.buffer)
        }
        let end = w.buffer.writerIndex
        w.buffer.setInteger(Int32(end - 12), at: 8)
        let crc = w.buffer.withUnsafeReadableBytes { bytes in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[crcStart..<end]))
        }
        w.buffer.setInteger(crc, at: 17)
        return w.buffer
    }

    private static func writeVarintBytes(_ w: inout KafkaWriter, _ bytes: ByteBuffer?) {
        guard let bytes else {
            w.writeVarint(-1)
            return
        }
        w.writeVarint(Int32(bytes.readableBytes))
        w.buffer.writeImmutableBuffer(bytes)
    }

    package struct Decoded: Sendable {
        /// Records at offsets ≥ the fetch offset, in order.
        package var records: [IncomingRecord]
        /// The offset after the last complete batch, or nil when no complete batch was present.
        package var nextOffset: Int64?
    }

    /// Decodes the concatenated batches of a Fetch partition. A truncated trailing batch is ignored; control batches
    /// are skipped (but advance `nextOffset`); records below `fetchOffset` are dropped (the broker returns whole
    /// batches). Batches follow each other and their records' offsets increase within them: offsets that do not
    /// (which would move the consumer backwards or past records it never saw) and offsets or timestamps beyond
    /// `Int64` are a protocol violation.
    package static func decode(_ data: ByteBuffer, fetchOffset: Int64, verifyCRC: Bool = true) throws -> Decoded {
        var buffer = data
        var records: [IncomingRecord] = []
        var nextOffset: Int64?
        while buffer.readableBytes >= 12 {
            let start = buffer.readerIndex
            guard let baseOffset = buffer.getInteger(at: start, as: Int64.self),
                let length = buffer.getInteger(at: start + 8, as: Int32.self)
            else { break }
            let total = 12 + Int(length)
            guard length >= 0, buffer.readableBytes >= total else { break }  // partial batch at the end
            guard var batch = buffer.readSlice(length: total) else { break }
            guard total >= headerSize, let magic = batch.getInteger(at: 16, as: Int8.self) else {
                throw KafkaError(.protocolViolation, "record batch at offset \(baseOffset) is too short")
            }
            guard magic == 2 else {
                throw KafkaError(.protocolViolation, "unsupported record batch magic \(magic) at offset \(baseOffset)")
            }
            if verifyCRC {
                let stored = batch.getInteger(at: 17, as: UInt32.self)!
                let computed = batch.withUnsafeReadableBytes { bytes in
                    CRC32C.checksum(UnsafeRawBufferPointer(rebasing: bytes[21...]))
                }
                guard stored == computed else {
                    throw KafkaError(.protocolViolation, "record batch at offset \(baseOffset) fails its CRC-32C check")
                }
            }
            batch.moveReaderIndex(forwardBy: 21)
            var r = KafkaReader(buffer: batch)
            let attributes = try r.readInt16()
            let lastOffsetDelta = try r.readInt32()
            let baseTimestamp = try r.readInt64()
            let maxTimestamp = try r.readInt64()
            _ = try r.readInt64()  // producer id
            _ = try r.readInt16()  // producer epoch
            _ = try r.readInt32()  // base sequence
            let count = try r.readInt32()
            let lastOffset = baseOffset.addingReportingOverflow(Int64(lastOffsetDelta))
            guard lastOffsetDelta >= 0, !lastOffset.overflow, lastOffset.partialValue < Int64.max else {
                throw KafkaError(
                    .protocolViolation, "record batch at offset \(baseOffset) has last offset delta \(lastOffsetDelta)")
            }
            guard baseOffset >= nextOffset ?? Int64.min else {
                throw KafkaError(
                    .protocolViolation,
                    "record batch at offset \(baseOffset) overlaps the batch before it (which ends at \(nextOffset!))")
            }
            nextOffset = lastOffset.partialValue + 1
            if attributes & 0x20 != 0 { continue }  // control batch (transaction markers)
            let codec = attributes & 0x07
            guard codec == 0 else {
                throw KafkaError(
                    .unsupportedCompression,
                    "record batch at offset \(baseOffset) uses compression codec \(codec); KafkaWire reads only uncompressed batches"
                )
            }
            let logAppendTime = attributes & 0x08 != 0
            var previousDelta: Int32 = -1
            for _ in 0..<max(0, count) {
                let recordLength = Int(try r.readVarint())
                guard recordLength >= 0, r.readableBytes >= recordLength else {
                    throw KafkaError(.protocolViolation, "record length \(recordLength) exceeds its batch")
                }
                var rr = KafkaReader(buffer: r.buffer.readSlice(length: recordLength)!)
                _ = try rr.readInt8()
                let timestampDelta = try rr.readVarlong()
                let offsetDelta = try rr.readVarint()
                guard offsetDelta > previousDelta, offsetDelta <= lastOffsetDelta else {
                    throw KafkaError(
                        .protocolViolation,
                        "record offset delta \(offsetDelta) in the batch at offset \(baseOffset) is not above \(previousDelta) and at most \(lastOffsetDelta)"
                    )
                }
                previousDelta = offsetDelta
                let offset = baseOffset + Int64(offsetDelta)
                if offset < fetchOffset { continue }
                let timestamp = baseTimestamp.addingReportingOverflow(timestampDelta)
                guard logAppendTime || !timestamp.overflow else {
                    throw KafkaError(.protocolViolation, "record timestamp at offset \(offset) overflows")
                }
                let key = try readVarintBytes(&rr)
                let value = try readVarintBytes(&rr)
                let headerCount = Int(try rr.readVarint())
                // Each header takes at least two bytes (its key's and its value's lengths): a count beyond what is
                // left must not reserve room for it.
                guard headerCount <= rr.readableBytes / 2 else {
                    throw KafkaError(.protocolViolation, "header count \(headerCount) exceeds the record")
                }
                var headers: [KafkaHeader] = []
                if headerCount > 0 {
                    headers.reserveCapacity(headerCount)
                    for _ in 0..<headerCount {
                        let keyLength = Int(try rr.readVarint())
                        guard keyLength >= 0, let k = rr.buffer.readString(length: keyLength) else {
                            throw KafkaError(.protocolViolation, "bad header key")
                        }
                        headers.append(KafkaHeader(key: k, value: try readVarintBytes(&rr)))
                    }
                }
                records.append(
                    IncomingRecord(
                        offset: offset, timestamp: logAppendTime ? maxTimestamp : timestamp.partialValue,
                        key: key, value: value, headers: headers))
            }
        }
        return Decoded(records: records, nextOffset: nextOffset)
    }

    private static func readVarintBytes(_ r: inout KafkaReader) throws -> ByteBuffer? {
        let length = Int(try r.readVarint())
        if length < 0 { return nil }
        guard let slice = r.buffer.readSlice(length: length) else {
            throw KafkaError(.protocolViolation, "record field length \(length) exceeds the record")
        }
        return slice
    }
}
