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

    @OptionGroup var host: HostOptions

    @Option(help: Setting.port.help("API port: ingest, node list, health, metrics; 0 picks a free port"))
    var port: Int = Setting.port.value(defaults.gateway.server.port)

    @Option(help: Setting.nodes.help("Number of cluster nodes"))
    var nodes: Int = Setting.nodes.value(defaults.nodes.count)

    @Option(help: Setting.nodeBasePort.help("Port of the first node; node i listens on base + i; 0 picks free ports"))
    var nodeBasePort: Int = Setting.nodeBasePort.value(defaults.nodes.basePort)

    @Option(help: Setting.nodeCapacity.help("Viewers each node accepts"))
    var nodeCapacity: Int = Setting.nodeCapacity.value(defaults.nodes.capacity)

    @Option(help: Setting.dataDir.help("Directory for the system's files"))
    var dataDir: String = Setting.dataDir.value(defaults.dataDirectory)

    @Option(help: Setting.window.help("Length of the tumbling windows, e.g. 2s or 500ms"))
    var window: DurationArgument = Setting.window.value(DurationArgument(milliseconds: defaults.processor.window.lengthMillis))

    @OptionGroup var scale: ScaleOptions

    @OptionGroup var partitions: PartitionOptions

    @Option(help: Setting.ringSize.help("Bursts each node keeps for ?after=SEQ replays"))
    var ringSize: Int = Setting.ringSize.value(defaults.nodes.hub.ringCapacity)

    @Option(help: Setting.viewerBuffer.help("Bursts buffered per viewer before its oldest are dropped"))
    var viewerBuffer: Int = Setting.viewerBuffer.value(defaults.nodes.hub.viewerBuffer)

    @Option(help: Setting.viewerStallTimeout.help("How long a viewer may keep its buffer full (bursts dropped) before it is disconnected"))
    var viewerStallTimeout: DurationArgument = Setting.viewerStallTimeout.value(DurationArgument(defaults.nodes.hub.stallTimeout))

    @OptionGroup var ingest: IngestOptions

    @Option(help: Setting.metricsTopChannels.help("Busiest channels with their own label in /metrics; the rest are channel=\"other\""))
    var metricsTopChannels: Int = Setting.metricsTopChannels.value(defaults.gateway.activity.metricsTopChannels)

    @OptionGroup var accounts: AccountOptions

    @OptionGroup var security: GatewaySecurityOptions

    @OptionGroup var kafka: KafkaOptions

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (0...1000).contains(metricsTopChannels) else {
            throw ValidationError("--metrics-top-channels must be within 0...1000")
        }
        guard (0...65535).contains(port), (0...65535).contains(nodeBasePort) else {
            throw ValidationError("ports must be within 0...65535")
        }
        guard nodeBasePort == 0 || nodeBasePort + nodes - 1 <= 65535 else {
            throw ValidationError("--node-base-port + --nodes exceeds 65535")
        }
        guard nodes >= 1, nodes <= 64 else { throw ValidationError("--nodes must be within 1...64") }
        guard nodeCapacity >= 1 else { throw ValidationError("--node-capacity must be at least 1") }
        guard window.milliseconds >= 10 else { throw ValidationError("--window must be at least 10ms") }
        guard ringSize >= 1, viewerBuffer >= 1 else {
            throw ValidationError("--ring-size and --viewer-buffer must be positive")
        }
        guard viewerStallTimeout.milliseconds >= 100 else {
            throw ValidationError("--viewer-stall-timeout must be at least 100ms")
        }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream")
        var configuration = EmoStreamConfiguration()
        try host.apply(to: &configuration)
        configuration.gateway.server.port = port
        configuration.nodes.count = nodes
        configuration.nodes.basePort = nodeBasePort
        configuration.nodes.capacity = nodeCapacity
        configuration.nodes.hub.ringCapacity = ringSize
        configuration.nodes.hub.viewerBuffer = viewerBuffer
        configuration.nodes.hub.stallTimeout = viewerStallTimeout.duration
        configuration.dataDirectory = dataDir
        configuration.processor.window = WindowSpec(lengthMillis: window.milliseconds)
        configuration.publisher.scaleDown = scale.scaleDown
        configuration.log.partitions = partitions.partitions
        configuration.log.kafka = try kafka.settings(partitions: partitions.partitions)
        ingest.apply(to: &configuration)
        configuration.gateway.activity.metricsTopChannels = metricsTopChannels
        accounts.apply(to: &configuration)
        security.apply(to: &configuration)
        let system = try await EmoStreamSystem.build(configuration: configuration, logger: logger)
        try await system.run(system.serviceGroup(gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
    }
}

/// The scale-down rule (`up`, `publisher`).
struct ScaleOptions: ParsableArguments {
    @Option(help: Setting.scale.help("Scale-down divisor: a burst shows count/scale emojis"))
    var scale: Int = Setting.scale.value(defaults.publisher.scaleDown.scale)

    @Option(help: Setting.scaleMode.help("ceil (every emoji sent shows) or floor (the original rule)"))
    var scaleMode: ScaleDown.Mode = Setting.scaleMode.value(defaults.publisher.scaleDown.mode)

    func validate() throws {
        guard scale >= 1 else { throw ValidationError("--scale must be at least 1") }
    }

    var scaleDown: ScaleDown { ScaleDown(scale: scale, mode: scaleMode) }
}

/// Ingest limits (`up`, `ingest`, and `gateway` with Kafka).
struct IngestOptions: ParsableArguments {
    @Option(help: Setting.maxBody.help("Largest ingest request body in bytes"))
    var maxBody: Int = Setting.maxBody.value(defaults.ingest.maxBodyBytes)

    @Option(help: Setting.userRate.help("Reactions per second one user_id may send (per ingest process), in bursts of twice that; 0 = unlimited"))
    var userRate: Double = Setting.userRate.value(defaults.ingest.userRate ?? 0)

    func validate() throws {
        guard userRate >= 0 else { throw ValidationError("--user-rate must not be negative") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be at least 1024") }
    }

    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.ingest.maxBodyBytes = maxBody
        configuration.ingest.userRate = userRate > 0 ? userRate : nil
    }
}
