import ArgumentParser
import EmoStreamApp
import Foundation
import Logging
import Metrics
import Publisher

/// `emostream audit`: counts the `emoji` topic again and compares it with what the publisher published.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Prove that the published bursts hold exactly the reactions of the emoji topic (Kafka).",
        discussion: """
            Reads publisher-emojis to its end, then the emoji records between the ledgers of the first and the newest \
            burst held, counts them per channel and emoji as the processors do, and compares with the bursts' counts \
            (corrections included). Prints the report as JSON; exits 1 when the counts differ or the log no longer \
            holds part of the range, 0 when they agree. Records past the newest ledger (not published yet) are listed \
            as pending.
            """)

    @OptionGroup var kafka: KafkaOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let logger = logging.bootstrap(label: "emostream.audit")
        let settings = try kafka.required(role: "audit", partitions: defaults.log.partitions)
        let log = settings.makeLog(clientID: "emostream-audit", logger: logger)
        let report = try await PublicationAudit(log: log, logger: logger, metrics: NOOPMetricsHandler.instance).run()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(report), as: UTF8.self))
        if !report.consistent { throw ExitCode(1) }
    }
}
