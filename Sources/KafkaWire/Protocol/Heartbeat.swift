import NIOCore

/// Heartbeat v4.
struct HeartbeatRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.heartbeat
    static let supportedVersions: ClosedRange<Int16> = 4...4
    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeInt32(generationID)
        writer.writeCompactString(memberID)
        writer.writeCompactNullableString(groupInstanceID)
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        try reader.skipTaggedFields()
        return Response(errorCode: error)
    }
}
