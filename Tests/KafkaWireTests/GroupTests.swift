import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

@testable import KafkaWire

/// What the members of a group processed and committed.
actor Ledger {
    var received: [KafkaTopicPartition: [Int64]] = [:]
    var committed: [KafkaTopicPartition: Int64] = [:]
    var firstReceived: [String: [KafkaTopicPartition: Int64]] = [:]
    var receivedBy: [String: Int] = [:]

    func record(_ messages: [KafkaConsumerMessage], by member: String) {
        for m in messages {
            received[m.topicPartition, default: []].append(m.offset)
            if firstReceived[member]?[m.topicPartition] == nil { firstReceived[member, default: [:]][m.topicPartition] = m.offset }
        }
        receivedBy[member, default: 0] += messages.count
    }

    func commit(_ offsets: [KafkaTopicPartition: Int64]) {
        for (tp, o) in offsets { committed[tp] = max(committed[tp] ?? 0, o) }
    }

    func distinctCount() -> Int { received.values.reduce(0) { $0 + Set($1).count } }

    func committedAll(_ ends: [KafkaTopicPartition: Int64]) -> Bool {
        ends.allSatisfy { committed[$0.key] == $0.value }
    }

    func complete(_ count: Int, _ ends: [KafkaTopicPartition: Int64]) -> Bool {
        distinctCount() == count && committedAll(ends)
    }

    func bothProcessed() -> Bool { receivedBy["victim", default: 0] > 0 && receivedBy["survivor", default: 0] > 0 }

    var stopped: Set<String> = []
    func stop(_ name: String) { stopped.insert(name) }
    func isStopped(_ name: String) -> Bool { stopped.contains(name) }

    func duplicates() -> Int { received.values.reduce(0) { $0 + $1.count - Set($1).count } }
}

/// Polls, records and commits until the consumer shuts down.
func work(_ consumer: KafkaConsumer, name: String, ledger: Ledger) async throws {
    while true {
        let batch: KafkaPollBatch
        do {
            batch = try await consumer.poll(maxMessages: 100, maxWait: .milliseconds(200))
        } catch let error as KafkaError where error.code == .shutdown {
            return
        }
        guard !batch.messages.isEmpty else { continue }
        await ledger.record(batch.messages, by: name)
        var next: [KafkaTopicPartition: Int64] = [:]
        for m in batch.messages { next[m.topicPartition] = max(next[m.topicPartition] ?? 0, m.offset + 1) }
        do {
            try await consumer.commit(next)
            await ledger.commit(next)
        } catch let error as KafkaError where error.isRetriable {
            continue
        }
    }
}

@Suite(.enabled(if: TestBroker.isAvailable, "needs EMOSTREAM_TEST_KAFKA_BROKERS (scripts/with-kafka.sh)"))
struct GroupTests {
    func member(_ group: String, _ topic: String, _ name: String) throws -> KafkaConsumer {
        var config = KafkaConsumerConfiguration(
            client: try TestBroker.client("kw-\(name)"), subscription: .group(id: group, topics: [topic]))
        config.fetchMaxWait = .milliseconds(100)
        return KafkaConsumer(configuration: config, logger: testLogger("member-\(name)"))
    }

    /// Produces m<i> for i in `range` to partition i % 6 with a producer of its own.
    func produceRange(_ range: Range<Int>, to topic: String, partitions: Int = 6) async throws -> [KafkaRecordMetadata] {
        let producer = KafkaProducer(
            configuration: KafkaProducerConfiguration(client: try TestBroker.client("kw-producer")),
            logger: testLogger("producer"))
        return try await withServices([producer]) {
            try await producer.sendAndAwait(
                range.map { KafkaProducerMessage(topic: topic, partition: $0 % partitions, value: value("m\($0)")) })
        }
    }

    func waitFor(_ what: String, limit: Duration = .seconds(120), _ condition: () async -> Bool) async {
        let deadline = ContinuousClock.now.advanced(by: limit)
        while !(await condition()) {
            if ContinuousClock.now > deadline {
                Issue.record("gave up waiting for \(what)")
                return
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    @Test func threeMembersShareSixPartitionsThroughLeaveJoinAndRestart() async throws {
        let topic = uniqueName("group")
        let groupID = uniqueName("g")
        let admin = KafkaAdminClient(configuration: try TestBroker.client("kw-admin"), logger: testLogger("admin"))
        _ = try await admin.ensureTopics([(topic, 6)])
        await admin.close()
        var ends: [KafkaTopicPartition: Int64] = [:]
        func merge(_ metadata: [KafkaRecordMetadata]) {
            for m in metadata {
                let tp = KafkaTopicPartition(topic: topic, partition: m.partition)
                ends[tp] = max(ends[tp] ?? 0, m.offset + 1)
            }
        }
        let ledger = Ledger()
        let a = try member(groupID, topic, "a")
        let b = try member(groupID, topic, "b")
        let c = try member(groupID, topic, "c")
        let d = try member(groupID, topic, "d")
        let e = try member(groupID, topic, "e")

        merge(try await produceRange(0..<600, to: topic))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (consumer, name) in [(a, "a"), (b, "b"), (c, "c")] {
                group.addTask {
                    try await consumer.run()
                    await ledger.stop(name)
                }
                group.addTask { try await work(consumer, name: name, ledger: ledger) }
            }
            let endsA = ends
            await waitFor("the first 600 records processed and committed") {
                await ledger.complete(600, endsA)
            }
            // c leaves gracefully; d joins; 300 more records.
            c.triggerGracefulShutdown()
            group.addTask {
                try await d.run()
                await ledger.stop("d")
            }
            group.addTask { try await work(d, name: "d", ledger: ledger) }
            merge(try await produceRange(600..<900, to: topic))
            let endsB = ends
            await waitFor("900 records processed and committed") {
                await ledger.complete(900, endsB)
            }
            // Leave one at a time (concurrent LeaveGroups can leave Tansu's group without a live leader).
            for (consumer, name) in [(a, "a"), (b, "b"), (d, "d")] {
                consumer.triggerGracefulShutdown()
                await waitFor("\(name) to leave") { await ledger.isStopped(name) }
            }
            try await group.waitForAll()
        }
        #expect(await ledger.receivedBy["d", default: 0] > 0)
        let committedBeforeRestart = await ledger.committed

        // A restarted member resumes exactly at the committed offsets.
        merge(try await produceRange(900..<960, to: topic))
        let endsC = ends
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await e.run() }
            group.addTask { try await work(e, name: "e", ledger: ledger) }
            await waitFor("960 records processed and committed") {
                await ledger.complete(960, endsC)
            }
            e.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        let firstOfE = await ledger.firstReceived["e"] ?? [:]
        for (tp, committed) in committedBeforeRestart {
            #expect(firstOfE[tp] == committed, "partition \(tp) resumed at \(String(describing: firstOfE[tp])), committed \(committed)")
        }
        #expect(await ledger.receivedBy["e"] == 60)
        // No record lost.
        for (tp, end) in ends {
            let got = Set(await ledger.received[tp] ?? [])
            #expect(got == Set(0..<end), "partition \(tp)")
        }
    }

    @Test func aTopicCreatedAfterJoiningIsPickedUp() async throws {
        let topic = uniqueName("later")
        let consumer = try member(uniqueName("g-later"), topic, "later")
        let received = try await withServices([consumer]) {
            // Joined with nothing to own.
            _ = try await pollUntil(consumer) { _, batch in batch.generation >= 0 }
            let admin = KafkaAdminClient(configuration: try TestBroker.client("kw-admin"), logger: testLogger("admin"))
            _ = try await admin.ensureTopics([(topic, 2)])
            await admin.close()
            _ = try await produceRange(0..<10, to: topic, partitions: 2)
            return try await pollUntil(consumer) { all, _ in all.count >= 10 }
        }
        #expect(Set(received.map { String(buffer: $0.value!) }) == Set((0..<10).map { "m\($0)" }))
    }

    @Test func survivorsTakeOverTheCrashedMembersPartitions() async throws {
        let topic = uniqueName("crash")
        let groupID = uniqueName("g-crash")
        let admin = KafkaAdminClient(configuration: try TestBroker.client("kw-admin"), logger: testLogger("admin"))
        _ = try await admin.ensureTopics([(topic, 4)])
        await admin.close()
        let ledger = Ledger()
        let survivor = try member(groupID, topic, "survivor")
        let victim = try member(groupID, topic, "victim")
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (consumer, name) in [(survivor, "survivor"), (victim, "victim")] {
                group.addTask {
                    try await consumer.run()
                    await ledger.stop(name)
                }
                group.addTask { try await work(consumer, name: name, ledger: ledger) }
            }
            // Both own partitions: the victim has processed something from its share.
            let first = try await produceRange(0..<40, to: topic, partitions: 4)
            _ = first
            await waitFor("both members to process records") {
                await ledger.bothProcessed()
            }
            // No LeaveGroup: the broker only notices after the session timeout, via the survivor's heartbeats.
            victim.simulateCrash()
            await waitFor("the victim to stop") { await ledger.isStopped("victim") }
            _ = try await produceRange(40..<80, to: topic, partitions: 4)
            await waitFor("every record processed", limit: .seconds(150)) { await ledger.distinctCount() == 80 }
            survivor.triggerGracefulShutdown()
            try await group.waitForAll()
        }
        #expect(await ledger.distinctCount() == 80)
    }

    @Test(.enabled(if: TestBroker.tansuBinary != nil, "needs EMOSTREAM_TANSU_BIN"), arguments: [false, true])
    func producerAndConsumerRecoverFromBrokerRestart(idempotent: Bool) async throws {
        let broker = try OwnBroker(binary: TestBroker.tansuBinary!)
        try await broker.start()
        defer { broker.kill() }
        var client = KafkaClientConfiguration(bootstrapServers: [broker.address], clientID: "kw-restart")
        client.connectTimeout = .seconds(2)
        client.requestTimeout = .seconds(10)
        let topic = uniqueName("restart")
        let admin = KafkaAdminClient(configuration: client, logger: testLogger("admin"))
        _ = try await admin.ensureTopics([(topic, 1)])
        var producerConfig = KafkaProducerConfiguration(client: client)
        producerConfig.deliveryTimeout = .seconds(3)
        producerConfig.enableIdempotence = idempotent
        let producer = KafkaProducer(configuration: producerConfig, logger: testLogger("producer"))
        var consumerConfig = KafkaConsumerConfiguration(
            client: client, subscription: .group(id: uniqueName("g-restart"), topics: [topic]))
        consumerConfig.fetchMaxWait = .milliseconds(100)
        let consumer = KafkaConsumer(configuration: consumerConfig, logger: testLogger("consumer"))

        try await withServices([producer, consumer]) {
            _ = try await producer.sendAndAwait([KafkaProducerMessage(topic: topic, value: value("before"))])
            let first = try await pollUntil(consumer) { all, _ in !all.isEmpty }
            #expect(first.map { String(buffer: $0.value!) } == ["before"])

            broker.kill()
            do {
                _ = try await producer.sendAndAwait([KafkaProducerMessage(topic: topic, value: value("during"))])
                Issue.record("a send to a dead broker succeeded")
            } catch let error as KafkaError {
                #expect(error.isRetriable, "\(error)")
            }

            // Same port, empty memory storage: recreate the topic, then both clients must recover.
            try await broker.start()
            _ = try await admin.ensureTopics([(topic, 1)])
            let metadata = try await producer.sendAndAwait(
                (0..<3).map { KafkaProducerMessage(topic: topic, value: value("after-\($0)")) })
            #expect(metadata.map(\.offset) == [0, 1, 2])
            let after = try await pollUntil(consumer) { all, _ in
                all.contains { String(buffer: $0.value!) == "after-2" }
            }
            #expect(after.map { String(buffer: $0.value!) }.suffix(3) == ["after-0", "after-1", "after-2"])
        }
        await admin.close()
    }
}

@Suite(.enabled(if: TestBroker.isAvailable, "needs EMOSTREAM_TEST_KAFKA_BROKERS (scripts/with-kafka.sh)"))
struct GroupRejoinTests {
    @Test func anEmptiedGroupCanBeJoinedAgainAndResumesCommittedOffsets() async throws {
        let topic = uniqueName("rejoin")
        let groupID = uniqueName("g-rejoin")
        let admin = KafkaAdminClient(configuration: try TestBroker.client("kw-admin"), logger: testLogger("admin"))
        _ = try await admin.ensureTopics([(topic, 2)])
        await admin.close()
        func produce(_ range: Range<Int>) async throws {
            let producer = KafkaProducer(
                configuration: KafkaProducerConfiguration(client: try TestBroker.client("kw-producer")),
                logger: testLogger("producer"))
            try await withServices([producer]) {
                _ = try await producer.sendAndAwait(range.map { KafkaProducerMessage(topic: topic, partition: $0 % 2, value: value("a\($0)")) })
            }
        }
        func consumer(_ name: String) throws -> KafkaConsumer {
            var config = KafkaConsumerConfiguration(
                client: try TestBroker.client("kw-\(name)"), subscription: .group(id: groupID, topics: [topic]))
            config.fetchMaxWait = .milliseconds(100)
            return KafkaConsumer(configuration: config, logger: testLogger("member-\(name)"))
        }
        try await produce(0..<10)
        let first = try consumer("first")
        try await withServices([first]) {
            let got = try await pollUntil(first) { all, _ in all.count >= 10 }
            var next: [KafkaTopicPartition: Int64] = [:]
            for m in got { next[m.topicPartition] = max(next[m.topicPartition] ?? 0, m.offset + 1) }
            try await first.commit(next)
        }
        try await produce(10..<14)
        let second = try consumer("second")
        let got = try await withServices([second]) {
            try await pollUntil(second) { all, _ in all.count >= 4 }
        }
        #expect(got.map { String(buffer: $0.value!) }.sorted() == ["a10", "a11", "a12", "a13"])
    }
}
