import ArgumentParser
import EmoCore
import EmoStreamApp
import Ingest
import Logging

/// `--metrics-port` of the worker roles (`processor`, `publisher`), which serve no API of their own.
struct MetricsPortOptions: ParsableArguments {
    @Option(help: Setting.metricsPort.help("Port of /healthz and /metrics; 0 picks a free port; without it, none"))
    var metricsPort: Int? = Setting.metricsPort.string.flatMap(Int.init)

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be within 0...65535")
        }
    }

    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.metricsPort = metricsPort
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "An ingest server alone: POST /api/emojis produced to the emoji topic on Kafka.",
        discussion: "Run as many as you like behind a load balancer; each needs --kafka.")

    @OptionGroup var host: HostOptions

    @Option(help: Setting.ingestPort.help("Port to listen on; 0 picks a free port"))
    var port: Int = Setting.ingestPort.value(IngestServer.Configuration().port)

    @OptionGroup var ingest: IngestOptions

    @Option(help: Setting.databaseURL.help("PostgreSQL URL of the fleet's store, for the channel registry: channels are registered on first use, or with --channels-closed only registered ones are accepted; without it any valid channel name is accepted"))
    var databaseURL: String? = Setting.databaseURL.string

    @Flag(
        inversion: .prefixedNo,
        help: Setting.channelsClosed.help(
            "Accept reactions only for channels created with `emostream channels add`; needs --database-url", flag: true))
    var channelsClosed: Bool = Setting.channelsClosed.bool

    @OptionGroup var partitions: PartitionOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ValidationError("--database-url must be a postgres:// URL")
        }
        if channelsClosed, databaseURL == nil {
            throw ValidationError("--channels-closed needs --database-url (the store holding the registered channels)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
    }

    func run() async throws {
        var configuration = EmoStreamConfiguration()
        try host.apply(to: &configuration)
        configuration.log.partitions = partitions.partitions
        configuration.log.kafka = try kafka.required(role: "ingest", partitions: partitions.partitions)
        ingest.apply(to: &configuration)
        configuration.store.databaseURL = databaseURL
        configuration.store.channelsClosed = channelsClosed
        var server = IngestServer.Configuration()
        server.port = port
        let logger = logging.bootstrap(label: "emostream.ingest")
        try await ProcessRoles.run(try await ProcessRoles.ingest(configuration, server: server, logger: logger), logger: logger)
    }
}

struct ProcessorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "processor",
        abstract: "A stream processor alone: counts the emoji topic in tumbling windows, in a group with the others.",
        discussion: """
            Processors share the emoji partitions as one consumer group; start or stop them at any time and the \
            partitions are rebalanced (a killed one's partitions move after the session timeout, 6 s). Needs --kafka.
            """)

    @Option(help: Setting.processorName.help("Unique processor name"))
    var name: String = Setting.processorName.value(defaults.processor.name)

    @Option(help: Setting.window.help("Length of the tumbling windows, e.g. 2s or 500ms; the same for every processor"))
    var window: DurationArgument = Setting.window.value(DurationArgument(milliseconds: defaults.processor.window.lengthMillis))

    @OptionGroup var host: HostOptions
    @OptionGroup var metrics: MetricsPortOptions
    @OptionGroup var partitions: PartitionOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard !name.isEmpty, name.count <= 64 else { throw ValidationError("--name must be 1-64 characters") }
        guard window.milliseconds >= 10 else { throw ValidationError("--window must be at least 10ms") }
    }

    func run() async throws {
        var configuration = EmoStreamConfiguration()
        try host.apply(to: &configuration)
        metrics.apply(to: &configuration)
        configuration.log.partitions = partitions.partitions
        configuration.log.kafka = try kafka.required(role: "processor", partitions: partitions.partitions)
        configuration.processor.name = name
        configuration.processor.window = WindowSpec(lengthMillis: window.milliseconds)
        let logger = logging.bootstrap(label: "emostream.processor")
        try await ProcessRoles.run(try await ProcessRoles.processor(configuration, logger: logger), logger: logger)
    }
}

struct PublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publisher",
        abstract: "The main publisher alone: merges the processors' window results into ordered bursts.",
        discussion: """
            Run exactly one; after a restart it resumes the seq numbering from the bursts topic. Needs --kafka. \
            With --instance-id it is a static member of its consumer group (Kafka's group.instance.id): restarted \
            under the same id, it takes its place back at once instead of waiting for the dead process's session \
            (--kafka-session-timeout, 6 s) to expire; it does not leave the group when it stops, and a second \
            publisher under the same id fences the first (which then exits) on brokers that implement fencing. \
            On a broker that delays static members (Tansu: 3 s per JoinGroup and SyncGroup) and accepts short \
            sessions, a dynamic member with --kafka-session-timeout 2s is back sooner.
            """)

    @Option(help: Setting.publisherInstanceID.help("Static group membership id (group.instance.id), e.g. publisher-main; without it, a dynamic member"))
    var instanceID: String? = Setting.publisherInstanceID.string

    @OptionGroup var scale: ScaleOptions
    @OptionGroup var host: HostOptions
    @OptionGroup var metrics: MetricsPortOptions
    @OptionGroup var partitions: PartitionOptions
    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let instanceID, instanceID.count > 249 || instanceID.contains(where: { !($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw ValidationError("--instance-id must be at most 249 letters, digits, '.', '_' or '-'")
        }
    }

    func run() async throws {
        var configuration = EmoStreamConfiguration()
        try host.apply(to: &configuration)
        metrics.apply(to: &configuration)
        configuration.log.partitions = partitions.partitions
        configuration.log.kafka = try kafka.required(role: "publisher", partitions: partitions.partitions)
        configuration.publisher.scaleDown = scale.scaleDown
        configuration.publisher.instanceID = instanceID.flatMap { $0.isEmpty ? nil : $0 }
        let logger = logging.bootstrap(label: "emostream.publisher")
        try await ProcessRoles.run(try await ProcessRoles.publisher(configuration, logger: logger), logger: logger)
    }
}
