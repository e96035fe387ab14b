import NIOCore

/// Produce v9 with acks=all (-1): never acks=0, Tansu answers every Produce.
struct ProduceRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.produce
    static let supportedVersions: ClosedRange<Int16> = 9...9

    struct PartitionData: Sendable {
        var partition: Int32
        /// One encoded RecordBatch.
        var records: ByteBuffer
    }

    var acks: Int16 = -1
    var timeoutMs: Int32
    var topics: [(name: String, partitions: [PartitionData])]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactNullableString(nil)  // transactional id
        writer.writeInt16(acks)
        writer.writeInt32(timeoutMs)
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeCompactArrayCount(topic.partitions.count)
            for p in topic.partitions {
                writer.writeInt32(p.partition)
                writer.writeCompactNullableBytes(p.records)
                writer.writeEmptyTaggedFields()
            }
            writer.writeEmptyTaggedFields()
        }
        writer.writeEmptyTaggedFields()
    }

    struct PartitionResponse: Sendable {
        var partition: Int32
        var errorCode: Int16
        var baseOffset: Int64
        var logAppendTimeMs: Int64
        var errorMessage: String?
    }

    struct Response: Sendable {
        var topics: [(name: String, partitions: [PartitionResponse])]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        let topics = try reader.readCompactArray { r -> (name: String, partitions: [PartitionResponse]) in
            let name = try r.readCompactString()
            let parts = try r.readCompactArray { p -> PartitionResponse in
                let index = try p.readInt32()
                let error = try p.readInt16()
                let base = try p.readInt64()
                let appendTime = try p.readInt64()
                _ = try p.readInt64()  // log start offset
                _ = try p.readCompactArray { e -> Int32 in
                    let i = try e.readInt32()
                    _ = try e.readCompactNullableString()
                    try e.skipTaggedFields()
                    return i
                }
                let message = try p.readCompactNullableString()
                try p.skipTaggedFields()
                return PartitionResponse(
                    partition: index, errorCode: error, baseOffset: base, logAppendTimeMs: appendTime,
                    errorMessage: message)
            }
            try r.skipTaggedFields()
            return (name, parts)
        }
        _ = try reader.readInt32()  // throttle
        try reader.skipTaggedFields()
        return Response(topics: topics)
    }
}
