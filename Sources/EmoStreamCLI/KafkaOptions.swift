import ArgumentParser
import EmoStreamApp

/// Where the pipeline's event log lives: the Kafka cluster named by `--kafka`, or (without it) the embedded log.
struct KafkaOptions: ParsableArguments {
    @Option(name: .customLong("kafka"), help: Setting.kafkaBrokers.help("Kafka bootstrap brokers host:port[,host:port]"))
    var brokers: String? = Setting.kafkaBrokers.string

    @Option(help: Setting.kafkaLinger.help("How long ingest batches reactions per partition before producing them"))
    var kafkaLinger: DurationArgument = Setting.kafkaLinger.value(DurationArgument(KafkaSettings.defaultReactionLinger))

    @Option(help: Setting.kafkaLateness.help("How far processors keep their watermark behind the partitions' progress; more than --kafka-linger; unset, --kafka-linger + 250ms"))
    var kafkaLateness: DurationArgument? = Setting.kafkaLateness.string.flatMap(DurationArgument.init(argument:))

    @Option(help: Setting.kafkaDeliveryTimeout.help("How long ingest waits for the broker to acknowledge a request's reactions before answering 503 log_unavailable"))
    var kafkaDeliveryTimeout: DurationArgument = Setting.kafkaDeliveryTimeout.value(DurationArgument(KafkaSettings.defaultDeliveryTimeout))

    @Option(help: Setting.kafkaSessionTimeout.help("How long the broker waits for a silent consumer (a processor, the publisher) before giving its partitions to another; 1s-5m (Apache Kafka accepts 6s-30m by default)"))
    var kafkaSessionTimeout: DurationArgument = Setting.kafkaSessionTimeout.value(DurationArgument(KafkaSettings.defaultSessionTimeout))

    @Option(help: Setting.kafkaPrefix.help("Prefix of every Kafka topic and consumer group name, for several systems on one cluster"))
    var kafkaPrefix: String? = Setting.kafkaPrefix.string

    func validate() throws {
        guard (kafkaPrefix ?? "").allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) else {
            throw ValidationError("--kafka-prefix may hold only letters, digits, '.', '_' and '-'")
        }
        if let brokers {
            do {
                _ = try KafkaSettings(brokerList: brokers)
            } catch {
                throw ValidationError("--kafka: \(error)")
            }
        }
        guard kafkaDeliveryTimeout.milliseconds > kafkaLinger.milliseconds else {
            throw ValidationError("--kafka-delivery-timeout must exceed --kafka-linger")
        }
        guard (1_000...300_000).contains(kafkaSessionTimeout.milliseconds) else {
            throw ValidationError("--kafka-session-timeout must be within 1s...5m")
        }
        if let kafkaLateness, kafkaLateness.milliseconds <= kafkaLinger.milliseconds {
            throw ValidationError("--kafka-lateness must exceed --kafka-linger")
        }
    }

    /// nil when no brokers are configured.
    func settings(partitions: Int) throws -> KafkaSettings? {
        guard let brokers else { return nil }
        var settings = try KafkaSettings(brokerList: brokers)
        settings.reactionPartitions = partitions
        settings.reactionLinger = kafkaLinger.duration
        settings.lateness = kafkaLateness?.duration
        settings.deliveryTimeout = kafkaDeliveryTimeout.duration
        settings.sessionTimeout = kafkaSessionTimeout.duration
        settings.namePrefix = kafkaPrefix ?? ""
        return settings
    }

    /// The settings of a role that cannot run without Kafka.
    func required(role: String, partitions: Int) throws -> KafkaSettings {
        guard let settings = try settings(partitions: partitions) else {
            throw ValidationError(
                "'\(role)' as a separate process needs Kafka: pass --kafka host:port (or set EMOSTREAM_KAFKA_BROKERS). "
                    + "To run the whole pipeline in one process without Kafka: emostream up")
        }
        return settings
    }
}

/// `--partitions`, wherever the `emoji` topic may be created.
struct PartitionOptions: ParsableArguments {
    @Option(help: Setting.partitions.help("Partitions of the emoji topic (when this process creates it)"))
    var partitions: Int = Setting.partitions.value(defaults.log.partitions)

    func validate() throws {
        guard partitions >= 1, partitions <= 256 else { throw ValidationError("--partitions must be within 1...256") }
    }
}
