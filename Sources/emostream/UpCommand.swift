import ArgumentParser
import EmoCore
import EmoStreamApp
import Logging
import ServiceLifecycle

struct UpCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "up",
        abstract: "Start the whole system in one process on the embedded event log and an SQLite store (no Kafka, no database server).",
        discussion: "With --kafka the same process runs its pipeline on a Kafka cluster instead of the embedded log.")

    @Option(help: "Address to listen on (env: EMOSTREAM_HOST).")
    var host: String = Env.value("EMOSTREAM_HOST", "127.0.0.1")

    @Option(help: "API port: ingest, node list, health, metrics; 0 picks a free port (env: EMOSTREAM_PORT).")
    var port: Int = Env.int("EMOSTREAM_PORT", 8080)

    @Option(help: "Number of cluster nodes (env: EMOSTREAM_NODES).")
    var nodes: Int = Env.int("EMOSTREAM_NODES", 3)

    @Option(help: "Port of the first node; node i listens on base + i; 0 picks free ports (env: EMOSTREAM_NODE_BASE_PORT).")
    var nodeBasePort: Int = Env.int("EMOSTREAM_NODE_BASE_PORT", 8081)

    @Option(help: "Viewers each node accepts (env: EMOSTREAM_NODE_CAPACITY).")
    var nodeCapacity: Int = Env.int("EMOSTREAM_NODE_CAPACITY", 10_000)

    @Option(help: "Directory for the system's files (env: EMOSTREAM_DATA_DIR).")
    var dataDir: String = Env.value("EMOSTREAM_DATA_DIR", "./.emostream")

    @Option(help: "Length of the tumbling windows, e.g. 2s or 500ms (env: EMOSTREAM_WINDOW).")
    var window: DurationArgument = Env.value("EMOSTREAM_WINDOW", DurationArgument(.seconds(2)))

    @Option(help: "Scale-down divisor: a burst shows count/scale emojis (env: EMOSTREAM_SCALE).")
    var scale: Int = Env.int("EMOSTREAM_SCALE", 100)

    @Option(help: "ceil (every emoji sent shows) or floor (the original rule) (env: EMOSTREAM_SCALE_MODE).")
    var scaleMode: ScaleDown.Mode = Env.value("EMOSTREAM_SCALE_MODE", .ceil)

    @Option(help: "Partitions of the emoji topic (env: EMOSTREAM_PARTITIONS).")
    var partitions: Int = Env.int("EMOSTREAM_PARTITIONS", 8)

    @Option(help: "Bursts each node keeps for ?after=SEQ replays (env: EMOSTREAM_RING_SIZE).")
    var ringSize: Int = Env.int("EMOSTREAM_RING_SIZE", 64)

    @Option(help: "Bursts buffered per viewer before its oldest are dropped (env: EMOSTREAM_VIEWER_BUFFER).")
    var viewerBuffer: Int = Env.int("EMOSTREAM_VIEWER_BUFFER", 16)

    @Option(help: "Largest ingest request body in bytes (env: EMOSTREAM_MAX_BODY).")
    var maxBody: Int = Env.int("EMOSTREAM_MAX_BODY", 1 << 20)

    @Option(help: "Reactions per second one user_id may send, in bursts of twice that; 0 = unlimited (env: EMOSTREAM_USER_RATE).")
    var userRate: Double = Env.value("EMOSTREAM_USER_RATE", 20)

    @Option(help: "Busiest channels with their own label in /metrics; the rest are channel=\"other\" (env: EMOSTREAM_METRICS_TOP_CHANNELS).")
    var metricsTopChannels: Int = Env.int("EMOSTREAM_METRICS_TOP_CHANNELS", 10)

    @OptionGroup var accounts: AccountOptions

    @OptionGroup var kafka: KafkaOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try accounts.validate()
        guard (0...1000).contains(metricsTopChannels) else {
            throw ValidationError("--metrics-top-channels must be within 0...1000")
        }
        guard userRate >= 0 else { throw ValidationError("--user-rate must not be negative") }
        guard (0...65535).contains(port), (0...65535).contains(nodeBasePort) else {
            throw ValidationError("ports must be within 0...65535")
        }
        guard nodeBasePort == 0 || nodeBasePort + nodes - 1 <= 65535 else {
            throw ValidationError("--node-base-port + --nodes exceeds 65535")
        }
        guard nodes >= 1, nodes <= 64 else { throw ValidationError("--nodes must be within 1...64") }
        guard nodeCapacity >= 1 else { throw ValidationError("--node-capacity must be at least 1") }
        guard scale >= 1 else { throw ValidationError("--scale must be at least 1") }
        guard partitions >= 1, partitions <= 256 else { throw ValidationError("--partitions must be within 1...256") }
        guard window.milliseconds >= 10 else { throw ValidationError("--window must be at least 10ms") }
        guard ringSize >= 1, viewerBuffer >= 1, maxBody >= 1024 else {
            throw ValidationError("--ring-size and --viewer-buffer must be positive, --max-body at least 1024")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream")
        var configuration = SystemConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.nodes = nodes
        configuration.nodeBasePort = nodeBasePort
        configuration.nodeCapacity = nodeCapacity
        configuration.dataDirectory = dataDir
        configuration.window = WindowSpec(lengthMillis: window.milliseconds)
        configuration.scaleDown = ScaleDown(scale: scale, mode: scaleMode)
        configuration.partitions = partitions
        configuration.ringCapacity = ringSize
        configuration.viewerBuffer = viewerBuffer
        configuration.maxBodyBytes = maxBody
        configuration.userRate = userRate > 0 ? userRate : nil
        configuration.metricsTopChannels = metricsTopChannels
        configuration.accounts = accounts.configuration
        configuration.kafka = try kafka.settings(partitions: partitions)
        let system = EmoStreamSystem(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: system)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
