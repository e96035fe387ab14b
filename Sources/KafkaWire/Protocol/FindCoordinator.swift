import NIOCore

/// FindCoordinator v3 (single key; v4+ is batched).
struct FindCoordinatorRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.findCoordinator
    static let supportedVersions: ClosedRange<Int16> = 3...3
    var key: String
    var keyType: Int8 = 0  // group

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(key)
        writer.writeInt8(keyType)
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
        var errorMessage: String?
        var nodeID: Int32
        var host: String
        var port: Int32
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        let message = try reader.readCompactNullableString()
        let node = try reader.readInt32()
        let host = try reader.readCompactString()
        let port = try reader.readInt32()
        try reader.skipTaggedFields()
        return Response(errorCode: error, errorMessage: message, nodeID: node, host: host, port: port)
    }
}
