import NIOCore

/// OffsetFetch v7 (single group). Offset -1 = nothing committed.
struct OffsetFetchRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.offsetFetch
    static let supportedVersions: ClosedRange<Int16> = 7...7
    var groupID: String
    var topics: [(name: String, partitions: [Int32])]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeCompactArrayCount(topic.partitions.count)
            for p in topic.partitions { writer.writeInt32(p) }
            writer.writeEmptyTaggedFields()
        }
        writer.writeBool(false)  // require stable
        writer.writeEmptyTaggedFields()
    }

    struct PartitionResponse: Sendable {
        var partition: Int32
        var committedOffset: Int64
        /// What the committer stored with the offset (nil: nothing).
        var metadata: String?
        var errorCode: Int16
    }

    struct Response: Sendable {
        var errorCode: Int16
        var topics: [(name: String, partitions: [PartitionResponse])]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let topics = try reader.readCompactArray { r -> (name: String, partitions: [PartitionResponse]) in
            let name = try r.readCompactString()
            let parts = try r.readCompactArray { p -> PartitionResponse in
                let index = try p.readInt32()
                let offset = try p.readInt64()
                _ = try p.readInt32()  // leader epoch
                let metadata = try p.readCompactNullableString()
                let error = try p.readInt16()
                try p.skipTaggedFields()
                return PartitionResponse(partition: index, committedOffset: offset, metadata: metadata, errorCode: error)
            }
            try r.skipTaggedFields()
            return (name, parts)
        }
        let error = try reader.readInt16()
        try reader.skipTaggedFields()
        return Response(errorCode: error, topics: topics)
    }
}
