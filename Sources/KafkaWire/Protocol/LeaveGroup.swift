import NIOCore

/// LeaveGroup v4 (batch form with one member).
struct LeaveGroupRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.leaveGroup
    static let supportedVersions: ClosedRange<Int16> = 4...4
    var groupID: String
    var memberID: String
    var groupInstanceID: String? = nil

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeCompactArrayCount(1)
        writer.writeCompactString(memberID)
        writer.writeCompactNullableString(groupInstanceID)
        writer.writeEmptyTaggedFields()
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        _ = try reader.readCompactArray { r -> Int16 in
            _ = try r.readCompactString()
            _ = try r.readCompactNullableString()
            let e = try r.readInt16()
            try r.skipTaggedFields()
            return e
        }
        try reader.skipTaggedFields()
        return Response(errorCode: error)
    }
}
