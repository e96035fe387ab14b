import ArgumentParser
import EmoStreamApp
import Logging

/// Options of the fleet roles that run as their own processes over a shared store.
struct FleetOptions: ParsableArguments {
    @OptionGroup var host: HostOptions

    @Option(help: Setting.publicHost.help("Host put in the URLs handed to viewers; without it, the --host"))
    var publicHost: String? = Setting.publicHost.string

    @Option(help: Setting.dataDir.help("Directory for the system's files: the SQLite store and the generated secret"))
    var dataDir: String = Setting.dataDir.value(defaults.dataDirectory)

    @OptionGroup var accounts: AccountOptions

    @OptionGroup var kafka: KafkaOptions

    func configuration() throws -> EmoStreamConfiguration {
        var configuration = EmoStreamConfiguration()
        try host.apply(to: &configuration)
        configuration.publicHost = publicHost
        configuration.dataDirectory = dataDir
        accounts.apply(to: &configuration)
        configuration.log.kafka = try kafka.settings(partitions: configuration.log.partitions)
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

    @Option(help: Setting.port.help("Port to listen on"))
    var port: Int = Setting.port.value(defaults.gateway.server.port)

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var security: GatewaySecurityOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream.gateway")
        var configuration = try fleet.configuration()
        configuration.gateway.server.port = port
        security.apply(to: &configuration)
        try await ProcessRoles.run(try await ProcessRoles.gateway(configuration, logger: logger), logger: logger)
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

    @Option(help: Setting.nodePort.help("Port to listen on"))
    var port: Int = Setting.nodePort.value(defaults.nodes.basePort)

    @Option(help: Setting.nodeName.help("Unique node name"))
    var name: String = Setting.nodeName.value("node-1")

    @Option(help: Setting.nodeCapacity.help("Viewers this node accepts"))
    var capacity: Int = Setting.nodeCapacity.value(defaults.nodes.capacity)

    @OptionGroup var fleet: FleetOptions
    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard capacity >= 1 else { throw ValidationError("--capacity must be at least 1") }
        guard !name.isEmpty, name.count <= 64 else { throw ValidationError("--name must be 1-64 characters") }
    }

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream.node")
        var configuration = try fleet.configuration()
        configuration.nodes.capacity = capacity
        try await ProcessRoles.run(
            try await ProcessRoles.node(configuration, name: name, port: port, logger: logger), logger: logger)
    }
}
