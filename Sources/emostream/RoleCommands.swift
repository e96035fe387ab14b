import ArgumentParser
import EmoCore
import EmoStreamApp
import Logging

/// Options of the pipeline roles (`ingest`, `processor`, `publisher`) that run as separate processes over Kafka.
struct PipelineOptions: ParsableArguments {
    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Partitions of the emoji topic when this process creates it (env: EMOSTREAM_PARTITIONS).")
    var partitions: Int = Env.int("EMOSTREAM_PARTITIONS", 8)

    func validate() throws {
        guard partitions >= 1, partitions <= 256 else { throw ValidationError("--partitions must be within 1...256") }
    }

    func configuration(role: String) throws -> PipelineRoleConfiguration {
        PipelineRoleConfiguration(kafka: try kafka.required(role: role, partitions: partitions))
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "An ingest server alone: POST /api/emojis produced to the emoji topic on Kafka.",
        discussion: "Run as many as you like behind a load balancer; each needs --kafka.")

    @Option(help: "Address to listen on (env: EMOSTREAM_HOST).")
    var host: String = Env.value("EMOSTREAM_HOST", "127.0.0.1")

    @Option(help: "Port to listen on; 0 picks a free port (env: EMOSTREAM_INGEST_PORT).")
    var port: Int = Env.int("EMOSTREAM_INGEST_PORT", 8090)

    @Option(help: "Largest request body in bytes (env: EMOSTREAM_MAX_BODY).")
    var maxBody: Int = Env.int("EMOSTREAM_MAX_BODY", 1 << 20)

    @Option(help: "Reactions per second one user_id may send per ingest server, in bursts of twice that; 0 = unlimited (env: EMOSTREAM_USER_RATE).")
    var userRate: Double = Env.value("EMOSTREAM_USER_RATE", 20)

    @Option(help: "PostgreSQL URL of the fleet's store, for the channel registry: channels are registered on first use, or with --channels-closed only registered ones are accepted; without it any valid channel name is accepted (env: EMOSTREAM_DATABASE_URL).")
    var databaseURL: String? = Env.string("EMOSTREAM_DATABASE_URL")

    @Flag(
        inversion: .prefixedNo,
        help: "Accept reactions only for channels created with `emostream channels add`; needs --database-url (env: EMOSTREAM_CHANNELS_CLOSED=1).")
    var channelsClosed: Bool = Env.bool("EMOSTREAM_CHANNELS_CLOSED")

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ValidationError("--database-url must be a postgres:// URL")
        }
        if channelsClosed, databaseURL == nil {
            throw ValidationError("--channels-closed needs --database-url (the store holding the registered channels)")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        guard userRate >= 0 else { throw ValidationError("--user-rate must not be negative") }
        guard maxBody >= 1024 else { throw ValidationError("--max-body must be at least 1024") }
    }

    func run() async throws {
        var configuration = try pipeline.configuration(role: "ingest")
        configuration.host = host
        configuration.port = port
        configuration.ingest.maxBodyBytes = maxBody
        configuration.ingest.userRate = userRate > 0 ? userRate : nil
        configuration.databaseURL = databaseURL
        configuration.channelsClosed = channelsClosed
        try await IngestRole(configuration: configuration, logger: logging.bootstrap(label: "emostream.ingest")).run()
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

    @Option(help: "Unique processor name (env: EMOSTREAM_PROCESSOR_NAME).")
    var name: String = Env.value("EMOSTREAM_PROCESSOR_NAME", "processor-1")

    @Option(help: "Length of the tumbling windows, e.g. 2s or 500ms; the same for every processor (env: EMOSTREAM_WINDOW).")
    var window: DurationArgument = Env.value("EMOSTREAM_WINDOW", DurationArgument(.seconds(2)))

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard !name.isEmpty, name.count <= 64 else { throw ValidationError("--name must be 1-64 characters") }
        guard window.milliseconds >= 10 else { throw ValidationError("--window must be at least 10ms") }
    }

    func run() async throws {
        var configuration = try pipeline.configuration(role: "processor")
        configuration.window = WindowSpec(lengthMillis: window.milliseconds)
        try await ProcessorRole(configuration: configuration, name: name, logger: logging.bootstrap(label: "emostream.processor"))
            .run()
    }
}

struct PublisherCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publisher",
        abstract: "The main publisher alone: merges the processors' window results into ordered bursts.",
        discussion: "Run exactly one; after a restart it resumes the seq numbering from the bursts topic. Needs --kafka.")

    @Option(help: "Scale-down divisor: a burst shows count/scale emojis (env: EMOSTREAM_SCALE).")
    var scale: Int = Env.int("EMOSTREAM_SCALE", 100)

    @Option(help: "ceil (every emoji sent shows) or floor (the original rule) (env: EMOSTREAM_SCALE_MODE).")
    var scaleMode: ScaleDown.Mode = Env.value("EMOSTREAM_SCALE_MODE", .ceil)

    @OptionGroup var pipeline: PipelineOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard scale >= 1 else { throw ValidationError("--scale must be at least 1") }
    }

    func run() async throws {
        var configuration = try pipeline.configuration(role: "publisher")
        configuration.scaleDown = ScaleDown(scale: scale, mode: scaleMode)
        try await PublisherRole(configuration: configuration, logger: logging.bootstrap(label: "emostream.publisher")).run()
    }
}
