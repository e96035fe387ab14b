import NIOCore

/// The API keys KafkaWire uses.
enum KafkaApiKey: Int16, Sendable, CaseIterable, CustomStringConvertible {
    case produce = 0
    case fetch = 1
    case listOffsets = 2
    case metadata = 3
    case offsetCommit = 8
    case offsetFetch = 9
    case findCoordinator = 10
    case joinGroup = 11
    case heartbeat = 12
    case leaveGroup = 13
    case syncGroup = 14
    case apiVersions = 18
    case createTopics = 19
    case initProducerId = 22

    var description: String {
        switch self {
        case .produce: "Produce"
        case .fetch: "Fetch"
        case .listOffsets: "ListOffsets"
        case .metadata: "Metadata"
        case .offsetCommit: "OffsetCommit"
        case .offsetFetch: "OffsetFetch"
        case .findCoordinator: "FindCoordinator"
        case .joinGroup: "JoinGroup"
        case .heartbeat: "Heartbeat"
        case .leaveGroup: "LeaveGroup"
        case .syncGroup: "SyncGroup"
        case .apiVersions: "ApiVersions"
        case .createTopics: "CreateTopics"
        case .initProducerId: "InitProducerId"
        }
    }
}

/// A request at one (flexible) version, and how to decode its response body.
protocol KafkaRequest: Sendable {
    associatedtype Response: Sendable
    static var apiKey: KafkaApiKey { get }
    /// The versions this encoder can write; the connection picks the highest the broker supports.
    static var supportedVersions: ClosedRange<Int16> { get }
    func encode(into writer: inout KafkaWriter, version: Int16)
    static func decodeResponse(from reader: inout KafkaReader, version: Int16) throws -> Response
}

extension KafkaRequest {
    /// Decodes a response frame after its correlation id: the response header's tagged fields, then the body.
    static func decodeResponse(frame: ByteBuffer, version: Int16) throws -> Response {
        var reader = KafkaReader(buffer: frame)
        if KafkaHeaders.responseHeaderVersion(apiKey: apiKey.rawValue, flexible: true) >= 1 {
            try reader.skipTaggedFields()
        }
        return try decodeResponse(from: &reader, version: version)
    }
}

/// Every response decoder of KafkaWire by API key, at the highest version it sends: what the fuzz target
/// `Fuzz/FuzzKafka` feeds arbitrary frames to.
package enum KafkaResponseDecoders {
    /// The API keys KafkaWire sends, in a fixed order.
    package static let apiKeys: [Int16] = KafkaApiKey.allCases.map(\.rawValue)

    /// Decodes `frame` (a response after its correlation id) as the response to a request of `apiKey`; throws
    /// `KafkaError` for a frame it cannot read, and for an API key KafkaWire does not send.
    package static func decode(apiKey: Int16, frame: ByteBuffer) throws -> any Sendable {
        guard let key = KafkaApiKey(rawValue: apiKey) else {
            throw KafkaError(.protocolViolation, "no decoder for API key \(apiKey)")
        }
        func decode<R: KafkaRequest>(_ type: R.Type) throws -> any Sendable {
            try R.decodeResponse(frame: frame, version: R.supportedVersions.upperBound)
        }
        switch key {
        case .produce: return try decode(ProduceRequest.self)
        case .fetch: return try decode(FetchRequest.self)
        case .listOffsets: return try decode(ListOffsetsRequest.self)
        case .metadata: return try decode(MetadataRequest.self)
        case .offsetCommit: return try decode(OffsetCommitRequest.self)
        case .offsetFetch: return try decode(OffsetFetchRequest.self)
        case .findCoordinator: return try decode(FindCoordinatorRequest.self)
        case .joinGroup: return try decode(JoinGroupRequest.self)
        case .heartbeat: return try decode(HeartbeatRequest.self)
        case .leaveGroup: return try decode(LeaveGroupRequest.self)
        case .syncGroup: return try decode(SyncGroupRequest.self)
        case .apiVersions: return try decode(ApiVersionsRequest.self)
        case .createTopics: return try decode(CreateTopicsRequest.self)
        case .initProducerId: return try decode(InitProducerIdRequest.self)
        }
    }
}

enum KafkaHeaders {
    /// Request header v2 (flexible requests): api_key, api_version, correlation_id, client_id (classic
    /// NULLABLE_STRING even in v2), empty tag buffer. v1 omits the tag buffer.
    static func writeRequestHeader(
        into writer: inout KafkaWriter, apiKey: Int16, version: Int16, correlationID: Int32, clientID: String?,
        headerVersion: Int
    ) {
        writer.writeInt16(apiKey)
        writer.writeInt16(version)
        writer.writeInt32(correlationID)
        writer.writeNullableString(clientID)
        if headerVersion >= 2 { writer.writeEmptyTaggedFields() }
    }

    /// Response header version: v1 (correlation id + tags) for flexible responses, except ApiVersions which always
    /// uses v0 (KIP-511).
    static func responseHeaderVersion(apiKey: Int16, flexible: Bool) -> Int {
        if apiKey == KafkaApiKey.apiVersions.rawValue { return 0 }
        return flexible ? 1 : 0
    }
}
