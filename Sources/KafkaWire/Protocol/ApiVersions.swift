import NIOCore

/// ApiVersions v3: the first request on every connection.
struct ApiVersionsRequest: KafkaRequest {
    static let apiKey = KafkaApiKey.apiVersions
    static let supportedVersions: ClosedRange<Int16> = 3...3
    var clientSoftwareName = "kafkawire"
    var clientSoftwareVersion = "0.1.0"

    func encode(into writer: inout KafkaWriter, version: Int16) {
        writer.writeCompactString(clientSoftwareName)
        writer.writeCompactString(clientSoftwareVersion)
        writer.writeEmptyTaggedFields()
    }

    struct Response: Sendable {
        var errorCode: Int16
        var apiKeys: [Int16: ClosedRange<Int16>]
        var throttleTimeMs: Int32
    }

    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response {
        let errorCode = try reader.readInt16()
        if errorCode == 35 {
            // UNSUPPORTED_VERSION: the body is a v0 body (classic array) listing what the broker supports.
            var keys: [Int16: ClosedRange<Int16>] = [:]
            let entries = try reader.readArray { r -> (Int16, Int16, Int16) in
                (try r.readInt16(), try r.readInt16(), try r.readInt16())
            }
            for (key, lo, hi) in entries where lo <= hi { keys[key] = lo...hi }
            return Response(errorCode: errorCode, apiKeys: keys, throttleTimeMs: 0)
        }
        var keys: [Int16: ClosedRange<Int16>] = [:]
        let entries = try reader.readCompactArray { r -> (Int16, Int16, Int16) in
            let key = try r.readInt16()
            let lo = try r.readInt16()
            let hi = try r.readInt16()
            try r.skipTaggedFields()
            return (key, lo, hi)
        }
        for (key, lo, hi) in entries where lo <= hi { keys[key] = lo...hi }
        let throttle = try reader.readInt32()
        try reader.skipTaggedFields()
        return Response(errorCode: errorCode, apiKeys: keys, throttleTimeMs: throttle)
    }
}
