import ArgumentParser
import Logging

/// The `emostream` command (the executable's `main` runs it).
public struct EmoStreamCommand: AsyncParsableCommand {
    public init() {}

    public static let configuration = CommandConfiguration(
        commandName: "emostream",
        abstract: "Live emoji reactions for millions of viewers: ingest, 2 s windows, publisher, cluster nodes.",
        subcommands: [
            UpCommand.self, IngestCommand.self, ProcessorCommand.self, PublisherCommand.self, NodeCommand.self,
            GatewayCommand.self, UsersCommand.self, ChannelsCommand.self, TopicsCommand.self, AuditCommand.self,
            LoadGenCommand.self,
        ],
        defaultSubcommand: nil
    )
}

struct LoggingOptions: ParsableArguments {
    @Option(help: Setting.logLevel.help("Log level: trace, debug, info, notice, warning, error, critical"))
    var logLevel: Logger.Level = Setting.logLevel.value(.info)

    func bootstrap(label: String) -> Logger {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        return Logger(label: label)
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// A failure at run time (not a usage mistake): printed as `Error: …` without the usage text.
struct RuntimeError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
