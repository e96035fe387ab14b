import NIOCore

/// JoinGroup v7 (classic protocol; v4+ answers MEMBER_ID_REQUIRED to an empty member id).
struct JoinGroupRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.joinGroup
    static let supportedVersions: ClosedRange<Int16> = 7...7
    var groupID: String
    var sessionTimeoutMs: Int32
    var rebalanceTimeoutMs: Int32
    var memberID: String
    /// KIP-345 static membership: a member that restarts under the same id takes its place back without a rebalance.
    var groupInstanceID: String? = nil
    var protocolType = "consumer"
    var protocols: [(name: String, metadata: ByteBuffer)]

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(groupID)
        writer.writeInt32(sessionTimeoutMs)
        writer.writeInt32(rebalanceTimeoutMs)
        writer.writeCompactString(memberID)
        writer.writeCompactNullableString(groupInstanceID)
        writer.writeCompactString(protocolType)
        writer.writeCompactArrayCount(protocols.count)
        for p in protocols {
            writer.writeCompactString(p.name)
            writer.writeCompactBytes(p.metadata)
            writer.writeEmptyTaggedFields()
        }
        writer.writeEmptyTaggedFields()
    }

    struct Member: Sendable {
        var memberID: String
        var metadata: ByteBuffer
    }

    struct Response: Sendable {
        var errorCode: Int16
        var generationID: Int32
        var protocolType: String?
        var protocolName: String?
        var leader: String
        var memberID: String
        var members: [Member]
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        let generation = try reader.readInt32()
        let ptype = try reader.readCompactNullableString()
        let pname = try reader.readCompactNullableString()
        let leader = try reader.readCompactString()
        let member = try reader.readCompactString()
        let members = try reader.readCompactArray { r -> Member in
            let id = try r.readCompactString()
            _ = try r.readCompactNullableString()
            let metadata = try r.readCompactBytes()
            try r.skipTaggedFields()
            return Member(memberID: id, metadata: metadata)
        }
        try reader.skipTaggedFields()
        return Response(
            errorCode: error, generationID: generation, protocolType: ptype, protocolName: pname, leader: leader,
            memberID: member, members: members)
    }
}
