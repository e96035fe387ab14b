import ArgumentParser
import EmoStreamApp

/// Where the pipeline's event log lives: the Kafka cluster named by `--kafka`, or (without it) the embedded log.
struct KafkaOptions: ParsableArguments {
    @Option(
        name: .customLong("kafka"),
        help: "Kafka bootstrap brokers host:port[,host:port] (env: EMOSTREAM_KAFKA_BROKERS).")
    var brokers: String? = Env.string("EMOSTREAM_KAFKA_BROKERS")

    @Option(help: "How long ingest batches reactions per partition before producing them (env: EMOSTREAM_KAFKA_LINGER).")
    var kafkaLinger: DurationArgument = Env.value("EMOSTREAM_KAFKA_LINGER", DurationArgument(.milliseconds(500)))

    @Option(
        help: "How far processors keep their watermark behind the partitions' progress; more than --kafka-linger (env: EMOSTREAM_KAFKA_LATENESS).")
    var kafkaLateness: DurationArgument = Env.value("EMOSTREAM_KAFKA_LATENESS", DurationArgument(.milliseconds(1000)))

    @Option(help: "Prefix of every Kafka topic and consumer group name, for several systems on one cluster (env: EMOSTREAM_KAFKA_PREFIX).")
    var kafkaPrefix: String = Env.value("EMOSTREAM_KAFKA_PREFIX", "")

    func validate() throws {
        guard kafkaPrefix.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw ValidationError("--kafka-prefix may hold only letters, digits, '.', '_' and '-'")
        }
        if let brokers {
            do {
                _ = try KafkaSettings(brokerList: brokers)
            } catch {
                throw ValidationError("--kafka: \(error)")
            }
        }
        guard kafkaLateness.milliseconds > kafkaLinger.milliseconds else {
            throw ValidationError("--kafka-lateness must exceed --kafka-linger")
        }
    }

    /// nil when no brokers are configured.
    func settings(partitions: Int = 8) throws -> KafkaSettings? {
        guard let brokers else { return nil }
        var settings = try KafkaSettings(brokerList: brokers)
        settings.reactionPartitions = partitions
        settings.reactionLinger = kafkaLinger.duration
        settings.lateness = kafkaLateness.duration
        settings.namePrefix = kafkaPrefix
        return settings
    }

    /// The settings of a role that cannot run without Kafka.
    func required(role: String, partitions: Int = 8) throws -> KafkaSettings {
        guard let settings = try settings(partitions: partitions) else {
            throw ValidationError(
                "'\(role)' as a separate process needs Kafka: pass --kafka host:port (or set EMOSTREAM_KAFKA_BROKERS). "
                    + "To run the whole pipeline in one process without Kafka: emostream up")
        }
        return settings
    }
}
