/// An error from KafkaWire: a broker error code, a connection or protocol problem, or a client-side condition.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    public enum Code: Sendable, Hashable, CustomStringConvertible {
        /// An error code returned by the broker (see Kafka's `Errors.java`).
        case broker(Int16)
        case connectionFailed
        case connectionClosed
        case timeout
        case configuration
        case protocolViolation
        case unsupportedVersion
        case deliveryTimeout
        case shutdown
        case rebalanceInProgress
        case unsupportedCompression
        /// A static group member was replaced by another process under its `group.instance.id`
        /// (FENCED_INSTANCE_ID); the consumer has stopped.
        case fenced

        public var description: String {
            switch self {
            case .broker(let code): return "broker error \(code) (\(KafkaError.brokerErrorName(code)))"
            case .connectionFailed: return "connection failed"
            case .connectionClosed: return "connection closed"
            case .timeout: return "request timed out"
            case .configuration: return "configuration"
            case .protocolViolation: return "protocol violation"
            case .unsupportedVersion: return "unsupported version"
            case .deliveryTimeout: return "delivery timeout"
            case .shutdown: return "shut down"
            case .rebalanceInProgress: return "rebalance in progress"
            case .unsupportedCompression: return "unsupported compression"
            case .fenced: return "fenced by another member with the same group.instance.id"
            }
        }
    }

    public var code: Code
    public var isRetriable: Bool
    public var isFatal: Bool
    public var message: String

    public init(_ code: Code, _ message: String, isRetriable: Bool? = nil, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.isFatal = isFatal
        if let isRetriable {
            self.isRetriable = isRetriable
        } else {
            switch code {
            case .broker(let c): self.isRetriable = KafkaError.retriableBrokerCodes.contains(c)
            case .connectionFailed, .connectionClosed, .timeout, .rebalanceInProgress, .deliveryTimeout:
                self.isRetriable = true
            case .configuration, .protocolViolation, .unsupportedVersion, .shutdown, .unsupportedCompression, .fenced:
                self.isRetriable = false
            }
        }
    }

    public var description: String {
        "KafkaError(\(code)\(isRetriable ? ", retriable" : "")\(isFatal ? ", fatal" : "")): \(message)"
    }

    /// A broker error code as an error (nil for 0 = NONE).
    static func broker(_ code: Int16, _ context: String, brokerMessage: String? = nil) -> KafkaError {
        var text = context
        if let brokerMessage, !brokerMessage.isEmpty { text += ": \(brokerMessage)" }
        return KafkaError(.broker(code), text)
    }

    static func shutdown(_ what: String) -> KafkaError {
        KafkaError(.shutdown, "\(what) has been shut down")
    }

    /// Codes after which the same request may succeed later (Kafka's RetriableException subclasses, plus the
    /// group-membership codes that a rejoin resolves).
    static let retriableBrokerCodes: Set<Int16> = [
        3, 5, 6, 7, 13, 14, 15, 16, 19, 20, 22, 25, 27, 51, 56, 74, 75, 78, 89,
    ]

    /// Codes meaning the cached leader for a partition is stale; refresh metadata.
    static let staleMetadataCodes: Set<Int16> = [3, 5, 6, 74, 75]

    /// Codes meaning the group coordinator moved or is unavailable; find it again.
    static let coordinatorCodes: Set<Int16> = [14, 15, 16]

    static func brokerErrorName(_ code: Int16) -> String {
        switch code {
        case -1: return "UNKNOWN_SERVER_ERROR"
        case 0: return "NONE"
        case 1: return "OFFSET_OUT_OF_RANGE"
        case 2: return "CORRUPT_MESSAGE"
        case 3: return "UNKNOWN_TOPIC_OR_PARTITION"
        case 5: return "LEADER_NOT_AVAILABLE"
        case 6: return "NOT_LEADER_OR_FOLLOWER"
        case 7: return "REQUEST_TIMED_OUT"
        case 10: return "MESSAGE_TOO_LARGE"
        case 13: return "NETWORK_EXCEPTION"
        case 14: return "COORDINATOR_LOAD_IN_PROGRESS"
        case 15: return "COORDINATOR_NOT_AVAILABLE"
        case 16: return "NOT_COORDINATOR"
        case 17: return "INVALID_TOPIC_EXCEPTION"
        case 19: return "NOT_ENOUGH_REPLICAS"
        case 20: return "NOT_ENOUGH_REPLICAS_AFTER_APPEND"
        case 22: return "ILLEGAL_GENERATION"
        case 23: return "INCONSISTENT_GROUP_PROTOCOL"
        case 24: return "INVALID_GROUP_ID"
        case 25: return "UNKNOWN_MEMBER_ID"
        case 26: return "INVALID_SESSION_TIMEOUT"
        case 27: return "REBALANCE_IN_PROGRESS"
        case 29: return "TOPIC_AUTHORIZATION_FAILED"
        case 30: return "GROUP_AUTHORIZATION_FAILED"
        case 35: return "UNSUPPORTED_VERSION"
        case 36: return "TOPIC_ALREADY_EXISTS"
        case 37: return "INVALID_PARTITIONS"
        case 38: return "INVALID_REPLICATION_FACTOR"
        case 41: return "NOT_CONTROLLER"
        case 45: return "OUT_OF_ORDER_SEQUENCE_NUMBER"
        case 46: return "DUPLICATE_SEQUENCE_NUMBER"
        case 47: return "INVALID_PRODUCER_EPOCH"
        case 56: return "KAFKA_STORAGE_ERROR"
        case 59: return "UNKNOWN_PRODUCER_ID"
        case 74: return "FENCED_LEADER_EPOCH"
        case 75: return "UNKNOWN_LEADER_EPOCH"
        case 79: return "MEMBER_ID_REQUIRED"
        case 82: return "FENCED_INSTANCE_ID"
        case 87: return "INVALID_RECORD"
        case 89: return "THROTTLING_QUOTA_EXCEEDED"
        case 90: return "PRODUCER_FENCED"
        default: return "code \(code)"
        }
    }
}
