import ArgumentParser

/// The per-role entry points a fleet deploys as separate processes. They need a shared event log between
/// processes (Kafka), which is not built yet; until then the roles run together inside `emostream up`.
protocol RoleCommand: AsyncParsableCommand {
    static var role: String { get }
}

extension RoleCommand {
    func run() async throws {
        throw ValidationError(
            """
            '\(Self.role)' as a separate process needs a shared event log (Kafka, --kafka), which this build \
            does not have yet. Run the whole pipeline in one process with: emostream up
            """)
    }
}

struct IngestCommand: RoleCommand {
    static let role = "ingest"
    static let configuration = CommandConfiguration(
        commandName: "ingest", abstract: "Ingest server alone (needs Kafka; for now part of `emostream up`).")
}

struct ProcessorCommand: RoleCommand {
    static let role = "processor"
    static let configuration = CommandConfiguration(
        commandName: "processor", abstract: "Stream processor alone (needs Kafka; for now part of `emostream up`).")
}

struct PublisherCommand: RoleCommand {
    static let role = "publisher"
    static let configuration = CommandConfiguration(
        commandName: "publisher", abstract: "Main publisher alone (needs Kafka; for now part of `emostream up`).")
}

struct NodeCommand: RoleCommand {
    static let role = "node"
    static let configuration = CommandConfiguration(
        commandName: "node", abstract: "Cluster node alone (needs Kafka; for now part of `emostream up`).")
}

struct GatewayCommand: RoleCommand {
    static let role = "gateway"
    static let configuration = CommandConfiguration(
        commandName: "gateway", abstract: "API gateway alone (needs Kafka; for now part of `emostream up`).")
}
