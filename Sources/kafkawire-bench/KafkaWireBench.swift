import ArgumentParser
import KafkaWire
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Produces N records to a fresh topic as fast as the API allows, consumes them with a group consumer, prints one
/// JSON line with both rates.
@main
struct KafkaWireBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafkawire-bench", abstract: "KafkaWire produce/consume throughput against a broker")

    @Option(help: "Bootstrap brokers, host:port[,host:port…]") var brokers: String
    @Option(help: "Records to produce and consume") var records = 200_000
    @Option(help: "Value size in bytes") var valueSize = 100
    @Option(help: "Partitions of the fresh topic") var partitions = 6
    @Option(help: "Concurrent sendAndAwait tasks") var concurrency = 8
    @Option(help: "Records per sendAndAwait call") var batch = 1000
    @Option(help: "Producer linger in ms") var lingerMs = 5
    @Option(help: "Per-partition batch cap in bytes") var batchSizeBytes = 65_536
    @Option(help: "Max bytes per Produce request") var maxRequestBytes = 1_048_576
    @Flag(help: "Idempotent producer") var idempotent = false
    @Option(help: "Log level (trace, debug, info, notice, warning, error)") var logLevel = "warning"

    func run() async throws {
        var logger = Logger(label: "kafkawire-bench")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .warning
        let client = KafkaClientConfiguration(
            bootstrapServers: try KafkaBrokerAddress.parseList(brokers), clientID: "kafkawire-bench")
        let topic = "kafkawire-bench-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
        let admin = KafkaAdminClient(configuration: client, logger: logger)
        _ = try await admin.ensureTopics([(topic, partitions)])
        await admin.close()

        var producerConfig = KafkaProducerConfiguration(client: client)
        producerConfig.linger = .milliseconds(lingerMs)
        producerConfig.batchSizeBytes = batchSizeBytes
        producerConfig.maxRequestBytes = maxRequestBytes
        producerConfig.enableIdempotence = idempotent
        let producer = KafkaProducer(configuration: producerConfig, logger: logger)
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: valueSize)
        let total = records
        let chunk = batch
        let next = Counter()
        let tasks = concurrency

        let produceSeconds = try await run([producer], logger: logger) {
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        while true {
                            let from = next.value.add(chunk, ordering: .relaxed).oldValue
                            guard from < total else { return }
                            let to = min(total, from + chunk)
                            _ = try await producer.sendAndAwait(
                                (from..<to).map { _ in KafkaProducerMessage(topic: topic, value: payload) })
                        }
                    }
                }
                try await group.waitForAll()
            }
            return seconds(ContinuousClock.now - start)
        }

        var consumerConfig = KafkaConsumerConfiguration(
            client: client, subscription: .group(id: "\(topic)-group", topics: [topic]))
        consumerConfig.autoOffsetReset = .earliest
        consumerConfig.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: consumerConfig, logger: logger)
        let consumeSeconds = try await run([consumer], logger: logger) {
            var received = 0
            var first: ContinuousClock.Instant?
            while received < total {
                let batch = try await consumer.poll(maxMessages: 10_000, maxWait: .milliseconds(500))
                if first == nil && !batch.messages.isEmpty { first = .now }
                received += batch.messages.count
            }
            return seconds(ContinuousClock.now - (first ?? .now))
        }
        let produceRate = Double(total) / produceSeconds
        let consumeRate = Double(total) / max(consumeSeconds, 1e-9)
        print(
            "{\"client\":\"kafkawire\",\"produce_records_per_s\":\(Int(produceRate)),\"consume_records_per_s\":\(Int(consumeRate)),\"records\":\(total),\"value_size\":\(valueSize)}"
        )
    }

    private func run<T: Sendable>(
        _ services: [any Service], logger: Logger, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let group = ServiceGroup(services: services, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            let result = try await body()
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        }
    }
}

private func seconds(_ d: Duration) -> Double {
    let (s, atto) = d.components
    return Double(s) + Double(atto) / 1e18
}

private final class Counter: Sendable {
    let value = Atomic<Int>(0)
}
