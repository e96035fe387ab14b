import EmoTestSupport
import EmoCore
import EventLog
import Foundation
import KafkaLog
import KafkaWire
import Metrics
import NIOCore
import PipelineTopics
import Synchronization
import Testing

/// `KafkaEventLog` against the real broker of `scripts/with-kafka.sh`; each test has topics and groups of its own.
@Suite struct KafkaEventLogTests {
    /// Reactions of three users, interleaved, each user's with increasing client timestamps.
    static func reactions(count: Int) -> [Reaction] {
        let users = ["ana", "bo", "cyd"]
        let emojis = ["😀", "😢", "🔥", "👏"]
        return (0..<count).map { index in
            Reaction(
                userID: users[index % users.count], emoji: emojis[index % emojis.count],
                clientTimestamp: 1_700_000_000_000 + Int64(index), channel: index % 2 == 0 ? "main" : "cricket")
        }
    }

    static func byUser(_ reactions: [Reaction]) -> [String: [Reaction]] {
        Dictionary(grouping: reactions, by: \.userID)
    }

    /// Single reactions keyed by user: how a keyed topic partitions (the pipeline's `emoji` topic is unkeyed).
    static let keyedReactions = Topic<Reaction>(
        name: "keyed-reactions", codec: ReactionCodec(), key: { ByteBuffer(string: $0.userID) })

    @Test func aRequestIsOneRecordHoldingTheWholeBatch() async throws {
        let log = try TestBroker.log()
        let batch = Self.reactions(count: 50)
        try await withRunning(log) {
            // Created asking for LogAppendTime (a Kafka broker stamps append times; the test broker keeps CreateTime).
            try await log.ensureTopic(PipelineTopics.reactions, partitions: 2)
            try await log.append([batch], to: PipelineTopics.reactions)
            try await log.append([Array(batch.prefix(3))], to: PipelineTopics.reactions)
            let read = try await log.withReader(
                PipelineTopics.reactions, ConsumerOptions(topic: "", start: .earliest, clientID: "reader"),
                logger: testLogger, metrics: NOOPMetricsHandler.instance
            ) { reader in
                try await readUntil(reader) { $0.count >= 2 }
            }
            #expect(read.count == 2)
            #expect(Set(read.compactMap(\.value)) == [batch, Array(batch.prefix(3))])
        }
    }

    @Test func typedAppendsReadBackDecodedInOrderPerKey() async throws {
        let log = try TestBroker.log()
        let sent = Self.reactions(count: 60)
        try await withRunning(log) {
            try await log.ensureTopic(Self.keyedReactions, partitions: 3)
            // Three appends: one key's records stay in order across appends too.
            for part in stride(from: 0, to: sent.count, by: 20) {
                let receipt = try await log.append(Array(sent[part..<(part + 20)]), to: Self.keyedReactions)
                #expect(receipt.count == 20)
            }
            let read = try await log.withReader(
                Self.keyedReactions, ConsumerOptions(topic: "", start: .earliest, clientID: "reader"),
                logger: testLogger, metrics: NOOPMetricsHandler.instance
            ) { reader in
                try await readUntil(reader) { $0.count >= sent.count }
            }
            #expect(read.count == sent.count)
            #expect(read.allSatisfy { $0.value != nil })
            #expect(Self.byUser(read.compactMap(\.value)) == Self.byUser(sent))
            for record in read {
                #expect(record.key.map { String(buffer: $0) } == record.value?.userID)
            }
            // One user, one partition.
            let partitions = Dictionary(grouping: read, by: { $0.value?.userID ?? "" }).mapValues { Set($0.map(\.partition)) }
            #expect(partitions.values.allSatisfy { $0.count == 1 })
        }
    }

    @Test func consumeHandsEachPollToTheHandlerUntilCancelled() async throws {
        let log = try TestBroker.log()
        let sent = Self.reactions(count: 30)
        let received = Received()
        let (progress, progressed) = AsyncStream.makeStream(of: Int.self)
        try await withRunning(log) {
            try await log.ensureTopic(Self.keyedReactions, partitions: 2)
            try await log.append(sent, to: Self.keyedReactions)
            try await withDeadline("the consume loop to read everything and end", seconds: 90) {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        try await log.consume(
                            Self.keyedReactions,
                            ConsumerOptions(topic: Self.keyedReactions.name, group: "processors", start: .earliest),
                            logger: testLogger, metrics: NOOPMetricsHandler.instance, maxWait: .milliseconds(200)
                        ) { poll, _ in
                            let count = received.values.withLock { received in
                                received += poll.values
                                return received.count
                            }
                            progressed.yield(count)
                        }
                    }
                    for await count in progress where count >= sent.count { break }
                    // Cancelled, the loop ends without an error.
                    group.cancelAll()
                    try await group.waitForAll()
                }
            }
        }
        #expect(Self.byUser(received.values.withLock { $0 }) == Self.byUser(sent))
    }

    @Test(arguments: [false, true])
    func withConsumerLeavesTheGroupWhenItsScopeEnds(throwing: Bool) async throws {
        struct EndOfScope: Error {}
        // With a 30 s session the test broker (Tansu) gives a lone joiner its partitions after ~15 s when the old
        // member left, and after ~55 s when it vanished without LeaveGroup: the 35 s wait below tells them apart.
        let log = try TestBroker.log { $0.sessionTimeout = .seconds(30) }
        try await withRunning(log) {
            try await log.ensureTopic("scoped", partitions: 4)
            let options = ConsumerOptions(topic: "scoped", group: "members", clientID: "first")
            do {
                let first = try await log.withConsumer(options) { consumer in
                    let owned = try await assignment(of: consumer, limit: .seconds(90)) { $0 == [0, 1, 2, 3] }
                    if throwing { throw EndOfScope() }
                    return owned
                }
                #expect(first == [0, 1, 2, 3])
                #expect(!throwing)
            } catch is EndOfScope {
                #expect(throwing)
            }
            // The first member has left: the next one owns every partition without waiting out its session.
            var second = options
            second.clientID = "second"
            let owned = try await log.withConsumer(second) { consumer in
                try await assignment(of: consumer, limit: .seconds(35)) { $0 == [0, 1, 2, 3] }
            }
            #expect(owned == [0, 1, 2, 3])
        }
    }

    @Test func ensureTopicsCreatesWhatIsMissingAndReportsPartitionCounts() async throws {
        let log = try TestBroker.log()
        try await withRunning(log) {
            let created = try await log.ensureTopics([
                TopicSpec(name: "alpha", partitions: 3), TopicSpec(name: "beta", partitions: 2),
            ])
            #expect(created == ["alpha": 3, "beta": 2])
            let prefix = log.configuration.namePrefix
            let listed = try await log.listTopics()
            #expect(listed[prefix + "alpha"] == 3)
            #expect(listed[prefix + "beta"] == 2)

            // An existing topic keeps its partitions; a new one beside it is created.
            let again = try await log.ensureTopics([
                TopicSpec(name: "alpha", partitions: 5), TopicSpec(name: "gamma", partitions: 1),
            ])
            #expect(again == ["alpha": 3, "gamma": 1])
            #expect(try await log.partitionCount(of: "alpha") == 3)
            #expect(try await log.partitionCount(of: "gamma") == 1)
        }
    }

    @Test func anUnreachableClusterFailsAppendsAsUnavailableWithinTheDeliveryTimeout() async throws {
        let port = try await closedPort()
        var configuration = KafkaEventLog.Configuration(
            brokers: [KafkaBrokerAddress(host: "127.0.0.1", port: port)], clientID: "kafkalog-test", namePrefix: uniquePrefix())
        configuration.deliveryTimeout = .seconds(2)
        let log = KafkaEventLog(configuration: configuration, logger: testLogger)
        try await withRunning(log) {
            let started = ContinuousClock.now
            let error = try await withDeadline("the append to fail", seconds: 30) {
                do {
                    try await log.append([Self.reactions(count: 3)], to: PipelineTopics.reactions)
                    return nil as EventLogError?
                } catch let error as EventLogError {
                    return error
                }
            }
            let elapsed = ContinuousClock.now - started
            guard case .unavailable = try #require(error, "the append to a closed port succeeded") else {
                Issue.record("expected EventLogError.unavailable, got \(String(describing: error))")
                return
            }
            // Fails by the delivery timeout (plus a retry backoff), not much later.
            #expect(elapsed < .seconds(10), "failed after \(elapsed)")
        }
    }
}

final class Received: Sendable {
    let values = Mutex<[Reaction]>([])
}
