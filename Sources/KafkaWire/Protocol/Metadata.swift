import NIOCore

/// Metadata v11/v12 (identical wire layouts for what we send and read).
struct MetadataRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.metadata
    static let supportedVersions: ClosedRange<Int16> = 11...12
    /// nil = all topics (a null array; Tansu treats an empty array as "all" too, Kafka as "none").
    var topics: [String]?
    var allowAutoTopicCreation = false

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactArrayCount(topics?.count)
        for topic in topics ?? [] {
            writer.writeUUID((0, 0))
            writer.writeCompactNullableString(topic)
            writer.writeEmptyTaggedFields()
        }
        writer.writeBool(allowAutoTopicCreation)
        writer.writeBool(false)  // include_topic_authorized_operations
        writer.writeEmptyTaggedFields()
    }

    struct Broker: Sendable, Hashable {
        var nodeID: Int32
        var host: String
        var port: Int32
    }

    struct Partition: Sendable {
        var errorCode: Int16
        var partition: Int32
        var leader: Int32
        var leaderEpoch: Int32
    }

    struct Topic: Sendable {
        var errorCode: Int16
        var name: String?
        /// The topic's id (hex), new each time the topic is created; all zeros when the broker has none.
        var id: String = ""
        var partitions: [Partition]
    }

    struct Response: Sendable {
        var brokers: [Broker]
        var controllerID: Int32
        var topics: [Topic]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()  // throttle
        let brokers = try reader.readCompactArray { r -> Broker in
            let node = try r.readInt32()
            let host = try r.readCompactString()
            let port = try r.readInt32()
            _ = try r.readCompactNullableString()  // rack
            try r.skipTaggedFields()
            return Broker(nodeID: node, host: host, port: port)
        }
        _ = try reader.readCompactNullableString()  // cluster id
        let controller = try reader.readInt32()
        let topics = try reader.readCompactArray { r -> Topic in
            let error = try r.readInt16()
            let name = try r.readCompactNullableString()
            let uuid = try r.readUUID()
            _ = try r.readBool()  // is_internal
            let partitions = try r.readCompactArray { p -> Partition in
                let perr = try p.readInt16()
                let index = try p.readInt32()
                let leader = try p.readInt32()
                let epoch = try p.readInt32()
                _ = try p.readCompactArray { try $0.readInt32() }  // replicas
                _ = try p.readCompactArray { try $0.readInt32() }  // isr
                _ = try p.readCompactArray { try $0.readInt32() }  // offline
                try p.skipTaggedFields()
                return Partition(errorCode: perr, partition: index, leader: leader, leaderEpoch: epoch)
            }
            _ = try r.readInt32()  // topic authorized operations
            try r.skipTaggedFields()
            let id = uuid == (0, 0) ? "" : String(uuid.0, radix: 16) + "-" + String(uuid.1, radix: 16)
            return Topic(errorCode: error, name: name, id: id, partitions: partitions)
        }
        try reader.skipTaggedFields()
        return Response(brokers: brokers, controllerID: controller, topics: topics)
    }
}
