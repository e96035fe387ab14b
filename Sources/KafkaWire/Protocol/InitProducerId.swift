import NIOCore

/// InitProducerId v4 for an idempotent (non-transactional) producer.
struct InitProducerIdRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.initProducerId
    static let supportedVersions: ClosedRange<Int16> = 4...4
    var producerID: Int64 = -1
    var producerEpoch: Int16 = -1

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactNullableString(nil)  // transactional id
        writer.writeInt32(Int32.max)  // transaction timeout
        writer.writeInt64(producerID)
        writer.writeInt16(producerEpoch)
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
        var producerID: Int64
        var producerEpoch: Int16
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        _ = try reader.readInt32()
        let error = try reader.readInt16()
        let id = try reader.readInt64()
        let epoch = try reader.readInt16()
        try reader.skipTaggedFields()
        return Response(errorCode: error, producerID: id, producerEpoch: epoch)
    }
}
