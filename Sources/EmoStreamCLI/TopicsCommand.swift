import ArgumentParser
import EmoStreamApp
import EventLog
import Foundation
import Logging

struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create or list the pipeline's Kafka topics (emoji, emoji-counts, publisher-emojis).",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the pipeline's topics that do not exist yet (existing ones are left as they are).")

        @OptionGroup var partitions: PartitionOptions

        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.bootstrap(label: "emostream.topics")
            let settings = try kafka.required(role: "topics create", partitions: partitions.partitions)
            let log = settings.makeLog(clientID: "emostream-topics", logger: logger)
            let counts = try await log.ensureTopics(settings.topics)
            for topic in settings.topics {
                print("\(topic.name)\t\(counts[topic.name] ?? topic.partitions) partitions")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the cluster's topics with their partition counts.")

        @OptionGroup var kafka: KafkaOptions
        @OptionGroup var logging: LoggingOptions

        func run() async throws {
            let logger = logging.bootstrap(label: "emostream.topics")
            let settings = try kafka.required(role: "topics list", partitions: defaults.log.partitions)
            let topics = try await settings.makeLog(clientID: "emostream-topics", logger: logger).listTopics()
            for name in topics.keys.sorted() {
                print("\(name)\t\(topics[name]!) partitions")
            }
        }
    }
}
