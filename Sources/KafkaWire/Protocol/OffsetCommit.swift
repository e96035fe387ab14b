import NIOCore

/// OffsetCommit v8, fenced by generation and member id.
struct OffsetCommitRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.offsetCommit
    static let supportedVersions: ClosedRange<Int16> = 8...8
    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil
    var topics: [(name: String, partitions: [(partition: Int32, offset: Int64, metadata: String?)])]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeInt32(generationID)
        writer.writeCompactString(memberID)
        writer.writeCompactNullableString(groupInstanceID)
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeCompactArrayCount(topic.partitions.count)
            for p in topic.partitions {
                writer.writeInt32(p.partition)
                writer.writeInt64(p.offset)
                writer.writeInt32(-1)  // committed leader epoch
                writer.writeCompactNullableString(p.metadata)
                writer.writeEmptyTaggedFields()
            }
            writer.writeEmptyTaggedFields()
        }
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var topics: [(name: String, partitions: [(partition: Int32, errorCode: Int16)])]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let topics = try reader.readCompactArray { r -> (name: String, partitions: [(partition: Int32, errorCode: Int16)]) in
            let name = try r.readCompactString()
            let parts = try r.readCompactArray { p -> (partition: Int32, errorCode: Int16) in
                let index = try p.readInt32()
                let error = try p.readInt16()
                try p.skipTaggedFields()
                return (index, error)
            }
            try r.skipTaggedFields()
            return (name, parts)
        }
        try reader.skipTaggedFields()
        return Response(topics: topics)
    }
}
