import EmoCore
import EventLog
import KafkaWire
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The ``EventLog`` on a Kafka cluster (or any broker speaking the Kafka protocol), through the native
/// `KafkaWire` client: what lets ingest servers, stream processors, the publisher and nodes run as separate
/// processes.
///
/// It is a `Service`: its producers send only while it runs, so put it in the process's `ServiceGroup`.
public final class KafkaEventLog: EventLog, Service {
    public struct Configuration: Sendable {
        public var brokers: [KafkaBrokerAddress]
        /// Prefix of the Kafka client ids, e.g. the process role.
        public var clientID: String
        /// How long records of `bulk` topics (reactions) wait to be batched per partition (the original system's
        /// 500 ms flush interval).
        public var reactionLinger: Duration
        /// Batching delay of `prompt` topics (window results, bursts), which are few and latency-sensitive.
        public var controlLinger: Duration
        /// How far behind a partition's progress the watermark stays, so that reactions stamped by an ingest server
        /// but still waiting in its producer (up to `reactionLinger`) are not late. Must exceed `reactionLinger`.
        public var lateness: Duration
        public var sessionTimeout: Duration
        public var deliveryTimeout: Duration
        /// Put before every topic and consumer group name, so that several systems (or tests) share one cluster.
        public var namePrefix: String

        /// Kafka 4's producer default: a batch closes after 5 ms, or earlier once it is full (`batchSizeBytes`), so a
        /// lone request waits 5 ms for its acknowledgement and a loaded partition sends full batches.
        public static let defaultReactionLinger: Duration = .milliseconds(5)
        /// What the processors' watermark keeps behind the partitions' progress beyond the linger: time from a
        /// record's timestamp to its being readable, and clock differences between the hosts.
        public static let latenessMargin: Duration = .milliseconds(250)
        /// The lateness that goes with `linger`: records may be stamped up to a linger before they are sent.
        public static func lateness(forLinger linger: Duration) -> Duration { linger + latenessMargin }
        public static let defaultLateness: Duration = lateness(forLinger: defaultReactionLinger)
        public static let defaultSessionTimeout: Duration = .seconds(6)
        public static let defaultDeliveryTimeout: Duration = .seconds(30)

        public init(brokers: [KafkaBrokerAddress], clientID: String = "emostream", namePrefix: String = "") {
            self.brokers = brokers
            self.clientID = clientID
            self.namePrefix = namePrefix
            self.reactionLinger = Self.defaultReactionLinger
            self.controlLinger = .milliseconds(1)
            self.lateness = Self.defaultLateness
            self.sessionTimeout = Self.defaultSessionTimeout
            self.deliveryTimeout = Self.defaultDeliveryTimeout
        }
    }

    public let configuration: Configuration
    let logger: Logger
    let admin: KafkaAdminClient
    let reactionProducer: KafkaProducer
    let controlProducer: KafkaProducer
    /// Every topic ensured through this log (by unprefixed name): how it is batched and stamped (unknown topics are
    /// `prompt` and CreateTime), and what to create again when the broker comes back without it.
    let specs = Mutex<[String: TopicSpec]>([:])
    /// When topics were last checked for re-creation.
    let recreation = Mutex<ContinuousClock.Instant?>(nil)
    /// The last health probe and when it was taken (probes are cached for a second).
    let lastHealth = Mutex<(at: ContinuousClock.Instant, health: LogHealth)?>(nil)
    /// The last append's failure, cleared by the next success.
    let appendFailure = Mutex<String?>(nil)
    /// Asks ``run()`` to look for topics the broker lost (after a failed append), so that no request waits for it.
    let recreationRequests: AsyncStream<Void>
    let recreationRequested: AsyncStream<Void>.Continuation

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        let client = KafkaClientConfiguration(bootstrapServers: configuration.brokers, clientID: configuration.clientID)
        self.admin = KafkaAdminClient(configuration: client, logger: logger)
        // As Kafka's producer requires (delivery.timeout.ms >= linger.ms + request.timeout.ms): a request in flight
        // is awaited no longer than its records' delivery timeout leaves, so a broker that stalls gets the append
        // failed (ingest's 503) within the delivery timeout, not a request timeout later.
        func producerClient(linger: Duration) -> KafkaClientConfiguration {
            var producerClient = client
            producerClient.requestTimeout = max(
                .milliseconds(100), min(client.requestTimeout, configuration.deliveryTimeout - linger))
            return producerClient
        }
        var reactions = KafkaProducerConfiguration(client: producerClient(linger: configuration.reactionLinger))
        reactions.linger = configuration.reactionLinger
        reactions.deliveryTimeout = configuration.deliveryTimeout
        reactions.batchSizeBytes = 256 * 1024
        self.reactionProducer = KafkaProducer(configuration: reactions, logger: logger)
        var control = KafkaProducerConfiguration(client: producerClient(linger: configuration.controlLinger))
        control.linger = configuration.controlLinger
        control.deliveryTimeout = configuration.deliveryTimeout
        self.controlProducer = KafkaProducer(configuration: control, logger: logger)
        (recreationRequests, recreationRequested) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    public func run() async throws {
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask { try await self.reactionProducer.run() }
            group.addTask { try await self.controlProducer.run() }
            group.addTask {
                for await _ in self.recreationRequests { await self.recreateMissingTopics() }
            }
            group.addTask {
                try? await gracefulShutdown()
                self.recreationRequested.finish()
                self.reactionProducer.triggerGracefulShutdown()
                self.controlProducer.triggerGracefulShutdown()
            }
        }
        await admin.close()
    }

    func kafkaName(_ name: String) -> String {
        configuration.namePrefix + name
    }

    public func ensureTopic(_ spec: TopicSpec) async throws {
        let counts = try await ensureTopics([spec])
        if let count = counts[spec.name], count != spec.partitions {
            logger.warning(
                "topic exists with another partition count",
                metadata: ["topic": "\(spec.name)", "partitions": "\(count)", "wanted": "\(spec.partitions)"])
        }
    }

    /// Creates the topics that do not exist yet; returns every topic's partition count (by unprefixed name).
    @discardableResult
    public func ensureTopics(_ specs: [TopicSpec]) async throws -> [String: Int] {
        self.specs.withLock { known in
            for spec in specs { known[spec.name] = spec }
        }
        let prefixed = specs.map { spec in
            KafkaTopicDefinition(
                name: kafkaName(spec.name), partitions: spec.partitions,
                configs: spec.timestamps == .logAppendTime ? [("message.timestamp.type", "LogAppendTime")] : [])
        }
        let counts = try await unavailableOnKafkaError { try await self.admin.ensureTopics(prefixed) }
        return Dictionary(uniqueKeysWithValues: specs.map { ($0.name, counts[kafkaName($0.name)] ?? $0.partitions) })
    }

    /// Every topic of the cluster (full names, prefix included) with its partition count.
    public func listTopics() async throws -> [String: Int] {
        try await unavailableOnKafkaError { try await self.admin.listTopics() }
    }

    public func partitionCount(of topic: String) async throws -> Int {
        let name = kafkaName(topic)
        return try await unavailableOnKafkaError { try await self.admin.partitionCount(of: name) }
    }

    @discardableResult
    public func append(_ records: [LogRecord], to topic: String) async throws -> AppendReceipt {
        let now = LogClock.nowMillis()
        let name = kafkaName(topic)
        let spec = specs.withLock { $0[topic] }
        // Log-append-time topics are created with `message.timestamp.type=LogAppendTime`, which a Kafka broker applies
        // whatever the batch says. The batch attribute is not set: the test broker (Tansu) then overwrites the batch's
        // max timestamp without recomputing its CRC-32C, which every reader rejects. Where the broker keeps CreateTime,
        // records held back by a stall arrive late; the publisher's ledger publishes them as corrections.
        let messages = records.map { record in
            KafkaProducerMessage(
                topic: name, partition: record.partition, key: record.key, value: record.value,
                timestamp: record.timestamp ?? now)
        }
        let producer = spec?.delivery == .bulk ? reactionProducer : controlProducer
        do {
            _ = try await unavailableOnKafkaError { try await producer.sendAndAwait(messages) }
            appendFailure.withLock { $0 = nil }
        } catch {
            appendFailure.withLock { $0 = "the last append to \(topic) failed: \(error)" }
            // A broker that lost its topics fails appends until they exist again; a stalled one would hold this
            // request for the check's own timeout, so the check runs beside it.
            recreationRequested.yield()
            throw error
        }
        return AppendReceipt(timestamp: now, count: records.count)
    }

    public func withConsumer<Result>(
        _ options: ConsumerOptions, _ body: (any LogConsumer) async throws -> Result
    ) async throws -> Result {
        let consumer = try await makeConsumer(options)
        return try await withThrowingTaskGroup(of: Void.self, returning: Result.self) { group in
            group.addTask { try await consumer.consumer.run() }
            let result: Swift.Result<Result, any Error>
            do {
                result = .success(try await body(consumer))
            } catch {
                result = .failure(error)
            }
            // Leave the group and wait for the consumer's background work to end before returning.
            consumer.consumer.triggerGracefulShutdown()
            while let _ = try? await group.next() {}
            return try result.get()
        }
    }

    func makeConsumer(_ options: ConsumerOptions) async throws -> KafkaLogConsumer {
        let client = KafkaClientConfiguration(bootstrapServers: configuration.brokers, clientID: options.clientID)
        let topic = kafkaName(options.topic)
        var consumerConfiguration: KafkaConsumerConfiguration
        if let group = options.group {
            consumerConfiguration = KafkaConsumerConfiguration(
                client: client, subscription: .group(id: kafkaName(group), topics: [topic]))
            consumerConfiguration.autoOffsetReset = options.start == .latest ? .latest : .earliest
            consumerConfiguration.groupInstanceID = options.instanceID
        } else {
            let partitions = try await partitionCount(of: options.topic)
            let start: KafkaStartOffset =
                switch options.start {
                case .earliest: .earliest
                case .latest: .latest
                case .tail(let count): .tail(count)
                }
            consumerConfiguration = KafkaConsumerConfiguration(
                client: client,
                subscription: .partitions(
                    Dictionary(uniqueKeysWithValues: (0..<partitions).map { (KafkaTopicPartition(topic: topic, partition: $0), start) })))
        }
        consumerConfiguration.sessionTimeout = configuration.sessionTimeout
        consumerConfiguration.heartbeatInterval = configuration.sessionTimeout / 6
        consumerConfiguration.fetchMaxWait = .milliseconds(250)
        consumerConfiguration.maxBufferedRecords = max(options.maxRecordsPerPoll * 4, 10_000)
        var logger = logger
        logger[metadataKey: "consumer"] = "\(options.clientID)"
        return KafkaLogConsumer(
            consumer: KafkaConsumer(configuration: consumerConfiguration, logger: logger), topic: topic,
            maxRecordsPerPoll: options.maxRecordsPerPoll, lateness: configuration.lateness)
    }
}

/// Maps the client's errors to the log's: a Kafka cluster that cannot be reached or does not acknowledge in
/// time is ``EventLogError/unavailable(_:)`` (ingest answers 503).
extension KafkaEventLog {
    /// Unavailable while the broker cannot be reached within 2 s, lacks a topic this log ensured (which it then
    /// creates again), or failed the last append; the probe is cached for a second.
    public func health() async -> LogHealth {
        let now = ContinuousClock.now
        if let cached = lastHealth.withLock({ $0 }), now - cached.at < .seconds(1) { return cached.health }
        var health = LogHealth.available
        let known = specs.withLock { Array($0.values) }
        do {
            let existing = try await withProbeTimeout(.seconds(2)) { try await self.admin.listTopics() }
            let missing = known.filter { existing[self.kafkaName($0.name)] == nil }.map(\.name).sorted()
            if !missing.isEmpty {
                health = LogHealth(problem: "the broker has lost topics \(missing); re-creating them")
                await recreateMissingTopics()
            } else if let failure = appendFailure.withLock({ $0 }) {
                health = LogHealth(problem: failure)
            }
        } catch {
            health = LogHealth(problem: "the Kafka broker does not answer: \(error)")
        }
        lastHealth.withLock { $0 = (now, health) }
        return health
    }

    /// Creates again every topic ensured through this log that the broker no longer has (a broker that came back
    /// empty), at most once per second; a broker that is still down makes this a quiet no-op.
    func recreateMissingTopics() async {
        let now = ContinuousClock.now
        let due = recreation.withLock { last -> Bool in
            if let last, now - last < .seconds(1) { return false }
            last = now
            return true
        }
        guard due else { return }
        let known = specs.withLock { Array($0.values) }
        guard !known.isEmpty, let existing = try? await admin.listTopics() else { return }
        let missing = known.filter { existing[kafkaName($0.name)] == nil }
        guard !missing.isEmpty else { return }
        do {
            try await ensureTopics(missing)
            logger.warning(
                "re-created topics the broker had lost", metadata: ["topics": "\(missing.map(\.name).sorted())"])
        } catch {
            logger.debug("could not re-create topics yet", metadata: ["error": "\(error)"])
        }
    }
}

func unavailableOnKafkaError<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as KafkaError {
        throw EventLogError.unavailable(error.description)
    }
}

/// `body`'s result, or an error once `limit` has passed — then at once: a request to a broker that stopped answering
/// cannot be interrupted, so `body` runs on in its own task, bounded by the client's request timeout, and its late
/// result is dropped (a probe of a frozen broker answers within `limit`, not a request timeout later).
func withProbeTimeout<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let first = FirstResult<T>()
    let work = Task {
        do {
            first.resolve(.success(try await body()))
        } catch {
            first.resolve(.failure(error))
        }
    }
    let timer = Task {
        if (try? await Task.sleep(for: limit)) != nil {
            first.resolve(.failure(EventLogError.unavailable("no answer within \(limit)")))
        }
    }
    defer {
        timer.cancel()
        work.cancel()
    }
    return try await first.wait()
}
