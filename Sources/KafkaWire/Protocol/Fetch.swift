import NIOCore

/// Fetch v12 (topic names; v13+ switches to topic ids).
struct FetchRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.fetch
    static let supportedVersions: ClosedRange<Int16> = 12...12

    struct PartitionRequest: Sendable {
        var partition: Int32
        var fetchOffset: Int64
        var partitionMaxBytes: Int32
    }

    var maxWaitMs: Int32
    var minBytes: Int32 = 1
    var maxBytes: Int32
    var topics: [(name: String, partitions: [PartitionRequest])]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(-1)  // replica id
        writer.writeInt32(maxWaitMs)
        writer.writeInt32(minBytes)
        writer.writeInt32(maxBytes)
        writer.writeInt8(0)  // read_uncommitted
        writer.writeInt32(0)  // session id
        writer.writeInt32(-1)  // session epoch: FINAL_EPOCH, no session
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeCompactArrayCount(topic.partitions.count)
            for p in topic.partitions {
                writer.writeInt32(p.partition)
                writer.writeInt32(-1)  // current leader epoch
                writer.writeInt64(p.fetchOffset)
                writer.writeInt32(-1)  // last fetched epoch
                writer.writeInt64(-1)  // log start offset (followers only)
                writer.writeInt32(p.partitionMaxBytes)
                writer.writeEmptyTaggedFields()
            }
            writer.writeEmptyTaggedFields()
        }
        writer.writeCompactArrayCount(0)  // forgotten topics
        writer.writeCompactString("")  // rack id
        writer.writeEmptyTaggedFields()
    }

    struct PartitionResponse: Sendable {
        var partition: Int32
        var errorCode: Int16
        var highWatermark: Int64
        var lastStableOffset: Int64
        var logStartOffset: Int64
        var records: ByteBuffer?
    }

    struct Response: Sendable {
        var errorCode: Int16
        var topics: [(name: String, partitions: [PartitionResponse])]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()  // throttle
        let error = try reader.readInt16()
        _ = try reader.readInt32()  // session id
        let topics = try reader.readCompactArray { r -> (name: String, partitions: [PartitionResponse]) in
            let name = try r.readCompactString()
            let parts = try r.readCompactArray { p -> PartitionResponse in
                let index = try p.readInt32()
                let perr = try p.readInt16()
                let hw = try p.readInt64()
                let lso = try p.readInt64()
                let logStart = try p.readInt64()
                _ = try p.readCompactArray { a -> Int64 in
                    _ = try a.readInt64()
                    let first = try a.readInt64()
                    try a.skipTaggedFields()
                    return first
                }
                _ = try p.readInt32()  // preferred read replica
                let records = try p.readCompactNullableBytes()
                try p.skipTaggedFields()
                return PartitionResponse(
                    partition: index, errorCode: perr, highWatermark: hw, lastStableOffset: lso,
                    logStartOffset: logStart, records: records)
            }
            try r.skipTaggedFields()
            return (name, parts)
        }
        try reader.skipTaggedFields()
        return Response(errorCode: error, topics: topics)
    }
}
