import ArgumentParser

/// The pipeline roles a fleet deploys as separate processes. They need an event log shared between processes
/// (Kafka), which is not built yet; until then they run together inside `emostream up`.
protocol RoleCommand: AsyncParsableCommand {
    static var role: String { get }
}

extension RoleCommand {
    func run() async throws {
        throw RuntimeError(
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

