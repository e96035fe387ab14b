import NIOCore

/// SyncGroup v5: the leader sends every member's assignment, followers send none.
struct SyncGroupRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.syncGroup
    static let supportedVersions: ClosedRange<Int16> = 5...5
    var groupID: String
    var generationID: Int32
    var memberID: String
    var groupInstanceID: String? = nil
    var protocolType: String? = "consumer"
    var protocolName: String?
    var assignments: [(memberID: String, assignment: ByteBuffer)]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeInt32(generationID)
        writer.writeCompactString(memberID)
        writer.writeCompactNullableString(groupInstanceID)
        writer.writeCompactNullableString(protocolType)
        writer.writeCompactNullableString(protocolName)
        writer.writeCompactArrayCount(assignments.count)
        for a in assignments {
            writer.writeCompactString(a.memberID)
            writer.writeCompactBytes(a.assignment)
            writer.writeEmptyTaggedFields()
        }
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
        var assignment: ByteBuffer
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        _ = try reader.readCompactNullableString()
        _ = try reader.readCompactNullableString()
        let assignment = try reader.readCompactBytes()
        try reader.skipTaggedFields()
        return Response(errorCode: error, assignment: assignment)
    }
}
