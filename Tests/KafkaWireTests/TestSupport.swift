import Foundation
import KafkaWire
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Testing

/// The broker from `scripts/with-kafka.sh` (EMOSTREAM_TEST_KAFKA_BROKERS); broker tests are skipped without it.
enum TestBroker {
    static let brokers: String? = ProcessInfo.processInfo.environment["EMOSTREAM_TEST_KAFKA_BROKERS"]
    static let isAvailable = brokers != nil
    static let tansuBinary: String? = ProcessInfo.processInfo.environment["EMOSTREAM_TANSU_BIN"]

    static func client(_ id: String = "kw-test") throws -> KafkaClientConfiguration {
        var config = KafkaClientConfiguration(bootstrapServers: try KafkaBrokerAddress.parseList(brokers ?? ""), clientID: id)
        config.requestTimeout = .seconds(20)
        return config
    }
}

func uniqueName(_ prefix: String) -> String {
    "kw-\(prefix)-\(String(UInt64.random(in: 0...UInt64.max), radix: 36))"
}

func testLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = ProcessInfo.processInfo.environment["KAFKAWIRE_TEST_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .notice
    return logger
}

/// Runs `services` in a ServiceGroup around `body`, then shuts them down gracefully.
func withServices<T: Sendable>(
    _ services: [any Service], _ body: @Sendable () async throws -> T
) async throws -> T {
    let group = ServiceGroup(services: services, logger: testLogger("service-group"))
    return try await withThrowingTaskGroup(of: T?.self) { tasks in
        tasks.addTask {
            try await group.run()
            return nil
        }
        let result: T
        do {
            result = try await body()
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
        return result
    }
}

/// Polls until `predicate` holds on everything received, with a generous safety limit (not a timing assertion:
/// it only keeps a broken test from hanging).
func pollUntil(
    _ consumer: KafkaConsumer, limit: Duration = .seconds(90),
    _ done: ([KafkaConsumerMessage], KafkaPollBatch) -> Bool
) async throws -> [KafkaConsumerMessage] {
    let deadline = ContinuousClock.now.advanced(by: limit)
    var all: [KafkaConsumerMessage] = []
    while true {
        let batch = try await consumer.poll(maxWait: .milliseconds(200))
        all.append(contentsOf: batch.messages)
        if done(all, batch) { return all }
        if ContinuousClock.now > deadline {
            Issue.record("gave up waiting; received \(all.count) messages, assignment \(batch.assignment)")
            return all
        }
    }
}

func value(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

/// A broker process of a test's own (for restart tests).
final class OwnBroker: @unchecked Sendable {  // only touched from the test's task
    let port: Int
    let binary: String
    var process: Process?

    init(binary: String) throws {
        self.binary = binary
        self.port = try OwnBroker.freePort()
    }

    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }

    var address: KafkaBrokerAddress { KafkaBrokerAddress(host: "127.0.0.1", port: port) }

    func start() async throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url",
            "tcp://127.0.0.1:\(port)", "--storage-engine", "memory://tansu/",
        ]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        process = p
        // Ready when it answers a Metadata request.
        var config = KafkaClientConfiguration(bootstrapServers: [address], clientID: "kw-probe")
        config.connectTimeout = .seconds(1)
        config.retryBackoff = .milliseconds(20)
        for _ in 0..<500 {
            let admin = KafkaAdminClient(configuration: config, logger: testLogger("probe"))
            let ok = (try? await admin.listTopics()) != nil
            await admin.close()
            if ok { return }
            guard p.isRunning else { throw KafkaError(.connectionFailed, "test broker exited") }
        }
        throw KafkaError(.connectionFailed, "test broker never became ready")
    }

    func kill() {
        guard let p = process else { return }
        // SIGKILL: the broker does not stop on SIGTERM, and a crash is what this simulates anyway.
        Foundation.kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        process = nil
    }

    deinit { kill() }
}
