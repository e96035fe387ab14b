// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "emostream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "emostream", targets: ["emostream"]),
        .library(name: "EmoCore", targets: ["EmoCore"]),
        .library(name: "EventLog", targets: ["EventLog"]),
        .library(name: "KafkaWire", targets: ["KafkaWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", from: "1.13.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
    ],
    targets: [
        // Domain: emoji catalogue, events, validation, windows, scale-down, wire formats.
        .target(
            name: "EmoCore",
            dependencies: [],
            swiftSettings: swiftSettings
        ),
        // The partitioned event log abstraction and the embedded in-process log.
        .target(
            name: "EventLog",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The pipeline's typed topics (reactions, window reports, bursts) and their binary record formats.
        .target(
            name: "PipelineTopics",
            dependencies: [
                "EmoCore", "EventLog",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Native Kafka protocol client on SwiftNIO: producer, consumer group, admin.
        .target(
            name: "KafkaWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // Throughput benchmark of KafkaWire against a broker (bench/kafka_throughput.py runs it).
        .executableTarget(
            name: "kafkawire-bench",
            dependencies: [
                "KafkaWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The event log on a Kafka cluster, through KafkaWire.
        .target(
            name: "KafkaLog",
            dependencies: [
                "EmoCore", "EventLog", "KafkaWire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Shared HTTP helpers: JSON error bodies and responses (the store's unavailability as a 503), security headers, CORS, TLS, the OpenAPI document.
        .target(
            name: "EmoHTTP",
            dependencies: [
                "EmoStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            // The OpenAPI document of every endpoint, served at /openapi.json.
            resources: [.copy("Resources/openapi.json")],
            swiftSettings: swiftSettings
        ),
        // Users, viewer sessions (leases), the node registry and channels: SQLite and PostgreSQL behind one protocol per concern.
        .target(
            name: "EmoStore",
            dependencies: [
                "EmoCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // Password hashing, signed tokens and tickets, the signing secret.
        .target(
            name: "Accounts",
            dependencies: [
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Ingest",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "EmoHTTP", "EmoStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Processor",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Publisher",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Node",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "EmoHTTP", "EmoStore", "Accounts",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: swiftSettings
        ),
        // The web app (HTML, CSS and JavaScript modules shipped as resources) and the routes that serve it.
        .target(
            name: "EmoWeb",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [.copy("Public")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "EmoHTTP", "Ingest", "Node", "EmoStore", "Accounts", "EmoWeb",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        // Composes the components' builders into the processes: `up` and the fleet roles.
        .target(
            name: "EmoStreamApp",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "Ingest", "Processor", "Publisher", "Node", "Gateway", "EmoStore", "Accounts",
                "KafkaLog", "KafkaWire", "EmoHTTP",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "LoadGen",
            dependencies: [
                "EmoCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The commands of `emostream` (ArgumentParser), a library so that tests can read their flags.
        .target(
            name: "EmoStreamCLI",
            dependencies: [
                "EmoStreamApp", "LoadGen", "Accounts", "EmoStore", "EmoCore", "EventLog", "Ingest", "EmoHTTP", "Publisher",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "emostream",
            dependencies: ["EmoStreamCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        // `swift run -c release emostream-bench`: bursts per second the main publisher sustains with many channels.
        .executableTarget(
            name: "emostream-bench",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "Publisher",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Sources/Bench",
            swiftSettings: swiftSettings
        ),
        // Fuzz targets: scripts/fuzz.sh builds them with libFuzzer (`-sanitize=fuzzer,address -D FUZZING`) and runs
        // each on its corpus in Fuzz/Corpus; a normal build replays inputs (`swift run FuzzKafka FILE|DIR…`).
        .target(name: "FuzzSupport", path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "FuzzIngest",
            dependencies: ["FuzzSupport", "EmoCore", "PipelineTopics", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzIngest",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzRecords",
            dependencies: [
                "FuzzSupport", "EmoCore", "EventLog", "PipelineTopics", .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Fuzz/FuzzRecords",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "FuzzKafka",
            dependencies: ["FuzzSupport", "KafkaWire", .product(name: "NIOCore", package: "swift-nio")],
            path: "Fuzz/FuzzKafka",
            swiftSettings: swiftSettings
        ),
        // Helpers the component test targets share (services around a body, deadlines, a throwaway SQLite store).
        .target(
            name: "EmoTestSupport",
            dependencies: [
                "EmoStore",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/EmoTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "EmoCoreTests", dependencies: ["EmoCore"], swiftSettings: swiftSettings),
        .testTarget(name: "EventLogTests", dependencies: ["EventLog"], swiftSettings: swiftSettings),
        .testTarget(
            name: "PipelineTopicsTests",
            dependencies: ["PipelineTopics", "EmoCore", "EventLog", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaWireTests",
            dependencies: [
                "KafkaWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmoStoreTests",
            dependencies: ["EmoStore", .product(name: "PostgresNIO", package: "postgres-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "AccountsTests", dependencies: ["Accounts"], swiftSettings: swiftSettings),
        .testTarget(
            name: "EmoHTTPTests",
            dependencies: [
                "EmoHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmoStreamCLITests",
            dependencies: ["EmoStreamCLI"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmoWebTests",
            dependencies: [
                "EmoWeb",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "EmoCore", "EventLog", "PipelineTopics", "Processor", "Publisher", "Node",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: [
                "Ingest", "EmoCore", "EventLog", "PipelineTopics", "EmoHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NodeTests",
            dependencies: [
                "Node", "EmoCore", "EventLog", "PipelineTopics", "EmoStore", "Accounts", "EmoTestSupport", "EmoHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "EmoCore", "EmoStore", "Accounts", "EmoTestSupport", "EmoHTTP", "Ingest", "EventLog",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaLogTests",
            dependencies: [
                "KafkaLog", "KafkaWire", "EventLog", "EmoCore", "PipelineTopics", "EmoTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "EmoStreamApp", "LoadGen", "Accounts", "EmoStore", "Node", "EmoTestSupport", "EmoHTTP", "Publisher",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
