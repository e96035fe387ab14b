import NIOCore

/// CreateTopics v7. TOPIC_ALREADY_EXISTS (36) is how "ensure" learns a topic exists.
struct CreateTopicsRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.createTopics
    static let supportedVersions: ClosedRange<Int16> = 7...7
    var topics: [(name: String, partitions: Int32, replicationFactor: Int16, configs: [(String, String)])]
    var timeoutMs: Int32

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactArrayCount(topics.count)
        for topic in topics {
            writer.writeCompactString(topic.name)
            writer.writeInt32(topic.partitions)
            writer.writeInt16(topic.replicationFactor)
            writer.writeCompactArrayCount(0)  // assignments
            writer.writeCompactArrayCount(topic.configs.count)
            for (name, value) in topic.configs {
                writer.writeCompactString(name)
                writer.writeCompactString(value)
                writer.writeEmptyTaggedFields()
            }
            writer.writeEmptyTaggedFields()
        }
        writer.writeInt32(timeoutMs)
        writer.writeBool(false)  // validate only
        writer.writeEmptyTaggedFields()
    }

    struct TopicResult: Sendable {
        var name: String
        var errorCode: Int16
        var errorMessage: String?
        var numPartitions: Int32
    }

    struct Response: Sendable {
        var topics: [TopicResult]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let topics = try reader.readCompactArray { r -> TopicResult in
            let name = try r.readCompactString()
            _ = try r.readUUID()
            let error = try r.readInt16()
            let message = try r.readCompactNullableString()
            let partitions = try r.readInt32()
            _ = try r.readInt16()
            _ = try r.readCompactArray { c -> Int8 in
                _ = try c.readCompactString()
                _ = try c.readCompactNullableString()
                _ = try c.readBool()
                let source = try c.readInt8()
                _ = try c.readBool()
                try c.skipTaggedFields()
                return source
            }
            try r.skipTaggedFields()
            return TopicResult(name: name, errorCode: error, errorMessage: message, numPartitions: partitions)
        }
        try reader.skipTaggedFields()
        return Response(topics: topics)
    }
}
