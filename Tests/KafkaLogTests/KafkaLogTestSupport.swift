import EventLog
import EmoTestSupport
import Foundation
import KafkaLog
import KafkaWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// The broker of `scripts/with-kafka.sh`. Without it every test here fails with this message (never skips).
struct MissingTestBroker: Error, CustomStringConvertible {
    var description: String {
        "EMOSTREAM_TEST_KAFKA_BROKERS is not set: run the tests through scripts/with-kafka.sh, e.g. "
            + "`bash scripts/with-kafka.sh swift test --filter KafkaLogTests`, or point it at a Kafka broker (host:port)"
    }
}

enum TestBroker {
    static func brokers() throws -> [KafkaBrokerAddress] {
        guard let list = ProcessInfo.processInfo.environment["EMOSTREAM_TEST_KAFKA_BROKERS"], !list.isEmpty else {
            throw MissingTestBroker()
        }
        return try KafkaBrokerAddress.parseList(list)
    }

    /// A log on the test broker whose topics and groups carry a prefix of this test's own.
    static func log(_ configure: (inout KafkaEventLog.Configuration) -> Void = { _ in }) throws -> KafkaEventLog {
        var configuration = KafkaEventLog.Configuration(
            brokers: try brokers(), clientID: "kafkalog-test", namePrefix: uniquePrefix())
        configuration.reactionLinger = .milliseconds(20)
        configure(&configuration)
        return KafkaEventLog(configuration: configuration, logger: testLogger)
    }
}

func uniquePrefix() -> String {
    "kl-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))-"
}

let testLogger: Logger = {
    var logger = Logger(label: "kafkalog-tests")
    logger.logLevel = ProcessInfo.processInfo.environment["KAFKALOG_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
    return logger
}()

/// Runs the log (a `Service`: its producers send only while it runs) around `body`, then shuts it down gracefully.
func withRunning<T: Sendable>(_ log: KafkaEventLog, _ body: () async throws -> T) async throws -> T {
    try await withServices([log], logger: testLogger, body)
}

/// Polls `reader` until `done` holds on everything read, within `limit` (a safety net, not a timing assertion
/// unless the caller says so).
func readUntil<Value>(
    _ reader: TopicReader<Value>, limit: Duration = .seconds(90), _ done: ([TopicRecord<Value>]) -> Bool
) async throws -> [TopicRecord<Value>] {
    let deadline = ContinuousClock.now.advanced(by: limit)
    var all: [TopicRecord<Value>] = []
    while !done(all) {
        guard ContinuousClock.now < deadline else { throw TimedOut(what: "records (read \(all.count))") }
        all += try await reader.poll(maxWait: .milliseconds(200)).records
    }
    return all
}

/// Polls `consumer` until its assignment satisfies `done`, within `limit`; returns that assignment.
func assignment(
    of consumer: any LogConsumer, limit: Duration, _ done: ([Int]) -> Bool
) async throws -> [Int] {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while true {
        let poll = try await consumer.poll(maxWait: .milliseconds(200))
        if done(poll.assignment) { return poll.assignment }
        guard ContinuousClock.now < deadline else {
            throw TimedOut(what: "an assignment (last: \(poll.assignment)) within \(limit)")
        }
    }
}

/// A loopback port nothing listens on.
func closedPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = try #require(channel.localAddress?.port)
    try await channel.close()
    return port
}
