import ArgumentParser
import Foundation

/// Every environment key a command reads, written once: each flag of the server commands has one, and its help
/// names it (`… (env: EMOSTREAM_PORT).`). The flag wins when both are given. The README's configuration table lists
/// the same keys (a test compares it with the commands' help).
enum Setting: String, CaseIterable, Sendable {
    case host = "EMOSTREAM_HOST"
    case maxConnections = "EMOSTREAM_MAX_CONNECTIONS"
    case maxConnectionRate = "EMOSTREAM_MAX_CONNECTION_RATE"
    case headerTimeout = "EMOSTREAM_HEADER_TIMEOUT"
    case bodyTimeout = "EMOSTREAM_BODY_TIMEOUT"
    case tlsCert = "EMOSTREAM_TLS_CERT"
    case tlsKey = "EMOSTREAM_TLS_KEY"
    case publicHost = "EMOSTREAM_PUBLIC_HOST"
    case port = "EMOSTREAM_PORT"
    case ingestPort = "EMOSTREAM_INGEST_PORT"
    case nodePort = "EMOSTREAM_NODE_PORT"
    case metricsPort = "EMOSTREAM_METRICS_PORT"
    case nodes = "EMOSTREAM_NODES"
    case nodeBasePort = "EMOSTREAM_NODE_BASE_PORT"
    case nodeCapacity = "EMOSTREAM_NODE_CAPACITY"
    case nodeName = "EMOSTREAM_NODE_NAME"
    case processorName = "EMOSTREAM_PROCESSOR_NAME"
    case publisherInstanceID = "EMOSTREAM_PUBLISHER_INSTANCE_ID"
    case dataDir = "EMOSTREAM_DATA_DIR"
    case window = "EMOSTREAM_WINDOW"
    case scale = "EMOSTREAM_SCALE"
    case scaleMode = "EMOSTREAM_SCALE_MODE"
    case partitions = "EMOSTREAM_PARTITIONS"
    case ringSize = "EMOSTREAM_RING_SIZE"
    case viewerBuffer = "EMOSTREAM_VIEWER_BUFFER"
    case viewerStallTimeout = "EMOSTREAM_VIEWER_STALL_TIMEOUT"
    case maxBody = "EMOSTREAM_MAX_BODY"
    case userRate = "EMOSTREAM_USER_RATE"
    case metricsTopChannels = "EMOSTREAM_METRICS_TOP_CHANNELS"
    case databaseURL = "EMOSTREAM_DATABASE_URL"
    case secret = "EMOSTREAM_SECRET"
    case tokenTTL = "EMOSTREAM_TOKEN_TTL"
    case ticketTTL = "EMOSTREAM_TICKET_TTL"
    case nodeTTL = "EMOSTREAM_NODE_TTL"
    case bcryptCost = "EMOSTREAM_BCRYPT_COST"
    case adminPassword = "EMOSTREAM_ADMIN_PASSWORD"
    case channelsClosed = "EMOSTREAM_CHANNELS_CLOSED"
    case corsOrigins = "EMOSTREAM_CORS_ORIGINS"
    case loginNameFailures = "EMOSTREAM_LOGIN_NAME_FAILURES"
    case loginAddressFailures = "EMOSTREAM_LOGIN_ADDRESS_FAILURES"
    case loginMaxBackoff = "EMOSTREAM_LOGIN_MAX_BACKOFF"
    case loginThrottleEntries = "EMOSTREAM_LOGIN_THROTTLE_ENTRIES"
    case logLevel = "EMOSTREAM_LOG_LEVEL"
    case kafkaBrokers = "EMOSTREAM_KAFKA_BROKERS"
    case kafkaLinger = "EMOSTREAM_KAFKA_LINGER"
    case kafkaLateness = "EMOSTREAM_KAFKA_LATENESS"
    case kafkaPrefix = "EMOSTREAM_KAFKA_PREFIX"
    case kafkaDeliveryTimeout = "EMOSTREAM_KAFKA_DELIVERY_TIMEOUT"
    case kafkaSessionTimeout = "EMOSTREAM_KAFKA_SESSION_TIMEOUT"
    case url = "EMOSTREAM_URL"

    var key: String { rawValue }

    /// `text` with the key: `"\(text) (env: KEY)."`; flags (`Bool`) are set with `KEY=1`.
    func help(_ text: String, flag: Bool = false, valueName: String? = nil) -> ArgumentHelp {
        ArgumentHelp("\(text) (env: \(key)\(flag ? "=1" : "")).", valueName: valueName)
    }

    /// The variable's value; unset and empty are nil.
    var string: String? {
        ProcessInfo.processInfo.environment[key].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The variable parsed as the flag would be, else `fallback`.
    func value<T: ExpressibleByArgument>(_ fallback: T) -> T {
        string.flatMap(T.init(argument:)) ?? fallback
    }

    /// `1`, `true`, `yes` or `on` (any case) is true; anything else, or unset, is false.
    var bool: Bool {
        guard let text = string?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(text)
    }
}
