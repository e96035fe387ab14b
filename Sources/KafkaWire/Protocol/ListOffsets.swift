import NIOCore

/// ListOffsets v7. Timestamp -2 = earliest, -1 = latest (buggy on Tansu memory://: prefer a Fetch high watermark).
struct ListOffsetsRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.listOffsets
    static let supportedVersions: ClosedRange<Int16> = 7...7
    static let earliest: Int64 = -2
    static let latest: Int64 = -1

    var topics: [(name: String, partitions: [(partition: Int32, timestamp: Int64)])]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeInt32(-1)  // replica id
        writer.writeInt8(0)  // isolation level
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeCompactArrayCount(topic.partitions.count)
            for p in topic.partitions {
                writer.writeInt32(p.partition)
                writer.writeInt32(-1)  // current leader epoch
                writer.writeInt64(p.timestamp)
                writer.writeEmptyTaggedFields()
            }
            writer.writeEmptyTaggedFields()
        }
        writer.writeEmptyTaggedFields()
    }

    struct PartitionResponse: Sendable {
        var partition: Int32
        var errorCode: Int16
        var timestamp: Int64
        var offset: Int64
    }

    struct Response: Sendable {
        var topics: [(name: String, partitions: [PartitionResponse])]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let topics = try reader.readCompactArray { r -> (name: String, partitions: [PartitionResponse]) in
            let name = try r.readCompactString()
            let parts = try r.readCompactArray { p -> PartitionResponse in
                let index = try p.readInt32()
                let error = try p.readInt16()
                let ts = try p.readInt64()
                let offset = try p.readInt64()
                _ = try p.readInt32()  // leader epoch
                try p.skipTaggedFields()
                return PartitionResponse(partition: index, errorCode: error, timestamp: ts, offset: offset)
            }
            try r.skipTaggedFields()
            return (name, parts)
        }
        try reader.skipTaggedFields()
        return Response(topics: topics)
    }
}
