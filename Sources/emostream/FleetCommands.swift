import ArgumentParser
import EmoStreamApp
import Logging

/// Options of the fleet roles that run as their own processes over a shared store.
struct FleetOptions: ParsableArguments {
    @Option(help: "Address to listen on (env: EMOSTREAM_HOST).")
    var host: String = Env.value("EMOSTREAM_HOST", "127.0.0.1")

    @Option(help: "Host put in the URLs handed to viewers (default: --host) (env: EMOSTREAM_PUBLIC_HOST).")
    var publicHost: String? = Env.string("EMOSTREAM_PUBLIC_HOST")

    @Option(help: "Directory for the system's files: the SQLite store and the generated secret (env: EMOSTREAM_DATA_DIR).")
    var dataDir: String = Env.value("EMOSTREAM_DATA_DIR", "./.emostream")

    @OptionGroup var accounts: AccountOptions

    @OptionGroup var kafka: KafkaOptions

    func configuration(port: Int) throws -> FleetConfiguration {
        var configuration = FleetConfiguration()
        configuration.host = host
        configuration.publicHost = publicHost
        configuration.port = port
        configuration.dataDirectory = dataDir
        configuration.accounts = accounts.configuration
        configuration.kafka = try kafka.settings()
        return configuration
    }
}

struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Accounts, login and placement of viewers on the nodes registered in a shared store.",
        discussion: """
            Several gateways and nodes share one PostgreSQL store (--database-url) and one --secret. With --kafka \
            the gateway also accepts POST /api/emojis (as `emostream ingest` does); without it, it does not.
            """)

    @Option(help: "Port to listen on (env: EMOSTREAM_PORT).")
    var port: Int = Env.int("EMOSTREAM_PORT", 8080)

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try fleet.accounts.validate()
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream.gateway")
        try await FleetGateway(configuration: try fleet.configuration(port: port), logger: logger).run()
    }
}

struct NodeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "One cluster node: registers in the shared store, heartbeats, admits viewers by ticket, sends bursts.",
        discussion: """
            With --kafka the node reads every burst of the publisher-emojis topic and sends it to its viewers. \
            Without it the node only admits, counts and releases viewers (placement and tier limits).
            """)

    @Option(help: "Port to listen on (env: EMOSTREAM_NODE_PORT).")
    var port: Int = Env.int("EMOSTREAM_NODE_PORT", 8081)

    @Option(help: "Unique node name (env: EMOSTREAM_NODE_NAME).")
    var name: String = Env.value("EMOSTREAM_NODE_NAME", "node-1")

    @Option(help: "Viewers this node accepts (env: EMOSTREAM_NODE_CAPACITY).")
    var capacity: Int = Env.int("EMOSTREAM_NODE_CAPACITY", 10_000)

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        try fleet.accounts.validate()
        guard capacity >= 1 else { throw ValidationError("--capacity must be at least 1") }
        guard !name.isEmpty, name.count <= 64 else { throw ValidationError("--name must be 1-64 characters") }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream.node")
        try await FleetNode(configuration: try fleet.configuration(port: port), name: name, capacity: capacity, logger: logger)
            .run()
    }
}
