import EmoCore
import EmoStreamApp
import Foundation
import Synchronization
import Testing

/// The pipeline as separate processes over a real Kafka-protocol broker (`EMOSTREAM_TEST_KAFKA_BROKERS`, started by
/// scripts/test.sh) and PostgreSQL: 2 ingest servers, 2 processors, a publisher, 3 nodes and a gateway.
@Suite(.serialized, .enabled(if: KafkaFleet.brokers != nil, "needs EMOSTREAM_TEST_KAFKA_BROKERS (scripts/test.sh)"))
struct KafkaFleetTests {
    @Test func upWithKafkaRunsTheWholePipelineOnTheBroker() async throws {
        try await withSystem(nodes: 2, window: 500) { endpoints in
            let account = try await Account.make(endpoints.api)
            let (ws, wsTask) = connectWebSocket(try await account.place().wsURL)
            let (sse, sseTask) = connectSSE(try await account.place().sseURL)
            defer {
                wsTask.cancel()
                sseTask.cancel()
            }
            #expect(try await ws.next().type == "hello")
            #expect(try await sse.next().type == "hello")
            let posted = try await postReactions(endpoints.api, [("😀", 450), ("sad", 120), ("🔥", 7)])
            #expect(posted.status == 202)
            for burst in [try await ws.next(), try await sse.next()] {
                #expect(burst.seq == 1)
                #expect(counts(burst) == ["😀": 450, "😢": 120, "🔥": 7])
                #expect(scaled(burst) == ["😀": 5, "😢": 2, "🔥": 1])
            }
        } configure: { configuration in
            var kafka = try! KafkaSettings(brokerList: KafkaFleet.brokers!)
            kafka.namePrefix = "t\(UInt32.random(in: 0...UInt32.max))-"
            kafka.reactionLinger = .milliseconds(50)
            kafka.lateness = .milliseconds(300)
            configuration.log.kafka = kafka
        }
    }

    @Test func processorAndPublisherServeHealthAndMetricsOnTheirMetricsPort() async throws {
        let environment = [
            "EMOSTREAM_KAFKA_BROKERS": KafkaFleet.brokers!, "EMOSTREAM_KAFKA_PREFIX": "t\(UInt32.random(in: 0...UInt32.max))-",
        ]
        let processor = try RoleProcess.start(
            ["processor", "--name", "processor-m", "--metrics-port", "0"], environment: environment,
            readyPrefix: "EmoStream processor metrics: ")
        defer { processor.kill() }
        let publisher = try RoleProcess.start(
            ["publisher", "--metrics-port", "0"], environment: environment, readyPrefix: "EmoStream publisher metrics: ")
        defer { publisher.kill() }
        for (process, role, series) in [
            (processor, "processor", "emostream_processor_reports_total"),
            (publisher, "publisher", "emostream_bursts_published_total"),
        ] {
            let metricsURL = try await process.ready()
            let base = String(metricsURL.dropLast("/metrics".count))
            let health = try await request(.GET, base + "/healthz", contentType: nil)
            #expect(health.status == 200)
            #expect(health.json["role"] as? String == role)
            // The role's own series, once its consumer reported or published something (a processor reports progress
            // once per window even when idle; the publisher's counter exists from the start).
            let text = try await withTimeout(seconds: 30) {
                while true {
                    let metrics = try await request(.GET, metricsURL, contentType: nil)
                    if metrics.status == 200, metrics.text.contains(series) { return metrics.text }
                    try await Task.sleep(for: .milliseconds(200))
                }
            }
            #expect(text.contains(series))
        }
    }

    /// With the default consumer session (6 s) and with a 2 s one (`--kafka-session-timeout 2s`).
    @Test(arguments: [nil, "2s"] as [String?])
    func reactionsOfTwoChannelsThroughBothIngestServersReachEveryNodeExactlyOnceAcrossAKilledProcessor(_ sessionTimeout: String?) async throws {
        let fleet = try await KafkaFleet.start(extra: sessionTimeout.map { ["EMOSTREAM_KAFKA_SESSION_TIMEOUT": $0] } ?? [:])
        defer { fleet.stop() }

        // Both processors own part of the emoji partitions before the load starts.
        for processor in fleet.processors {
            _ = try await processor.waitForLine { $0.contains("partitions assigned: [") && !$0.contains("partitions assigned: []") }
        }

        // A viewer on each of the three nodes (placement spreads one user's three devices over them).
        let account = try await Account.make(fleet.api, tier: 1)
        var placements: [Placement] = []
        var viewers: [(Inbox, Task<Void, any Error>)] = []
        defer { viewers.forEach { $0.1.cancel() } }
        for _ in 0..<3 {
            let placement = try await account.place()
            placements.append(placement)
            let viewer = connectSSE(placement.sseURL)
            #expect(try await viewer.0.next().type == "hello")
            viewers.append(viewer)
        }
        #expect(Set(placements.map(\.node)) == ["node-1", "node-2", "node-3"])
        // And one viewer of another live event, which must see only its own channel.
        let cricket = connectSSE(try await account.place(channel: "cricket").sseURL)
        #expect(try await cricket.0.next().channel == "cricket")
        viewers.append(cricket)
        let totals = viewers.map { _ in ViewerTotals() }
        let readers = zip(viewers, totals).map { viewer, total in Task { await total.consume(viewer.0) } }
        defer { readers.forEach { $0.cancel() } }

        // Reactions to both ingest servers for a while; one processor is killed with SIGKILL half-way.
        var accepted: [String: Int] = [:]
        var acceptedCricket: [String: Int] = [:]
        var killedAt: ContinuousClock.Instant?
        var takeover: Task<Duration, any Error>?
        // Both channels interleaved in every batch.
        let mix = [("main", "😀", 37), ("cricket", "👏", 9), ("main", "😢", 11), ("cricket", "🔥", 5), ("main", "🔥", 5)]
        for round in 0..<24 {
            let ingest = fleet.ingest[round % 2]
            let result = try await postChannelReactions(ingest, mix, user: "r\(round)")
            #expect(result.status == 202, "\(result.text)")
            if result.status == 202 {
                for (channel, emoji, count) in mix {
                    if channel == "main" { accepted[emoji, default: 0] += count } else { acceptedCricket[emoji, default: 0] += count }
                }
            }
            if round == 12 {
                let (survivor, lines) = (fleet.processors[1], fleet.processors[1].linesSoFar)
                fleet.processors[0].kill()
                let killed = ContinuousClock.now
                killedAt = killed
                // Waited for below: the survivor takes over the killed processor's partitions.
                takeover = Task {
                    _ = try await survivor.waitForLine(skipping: lines) { $0.contains("partitions assigned: [0, 1, 2, 3, 4, 5, 6, 7]") }
                    return ContinuousClock.now - killed
                }
            }
            try await Task.sleep(for: .milliseconds(250))  // paces the load over ~6 s of windows; not a wait
        }
        // A marker sent last: once every viewer has it, every earlier reaction has been published.
        let marker = try await postReactions(fleet.ingest[0], [("🎉", 1)], user: "marker")
        #expect(marker.status == 202)
        let cricketMarker = try await postChannelReactions(fleet.ingest[1], [("cricket", "🎉", 1)], user: "marker")
        #expect(cricketMarker.status == 202)
        accepted["🎉"] = 1
        acceptedCricket["🎉"] = 1
        for (index, viewer) in totals.enumerated() {
            let expected = index == 3 ? acceptedCricket : accepted
            let seen = try await viewer.waitUntil(seconds: 90) { $0["🎉", default: 0] >= 1 && $0.values.reduce(0, +) >= expected.values.reduce(0, +) }
            #expect(seen == expected)
        }
        // The survivor took over the killed processor's partitions.
        let tookOver = try await #require(takeover).value
        // Every node got the same bursts, numbered 1, 2, 3, … without gaps.
        #expect(totals[3].seqs() == Array(1...UInt64(totals[3].seqs().count)))
        let sequences = totals.prefix(3).map { $0.seqs() }
        #expect(sequences[0] == Array(1...UInt64(sequences[0].count)))
        #expect(sequences.allSatisfy { $0 == sequences[0] })
        let total = accepted.values.reduce(0, +) + acceptedCricket.values.reduce(0, +)
        try expectAuditAgrees(fleet.environment, accepted: accepted.merging(acceptedCricket, uniquingKeysWith: +))
        // What a viewer saw: the longest pause between two bursts from the kill on.
        let arrivals = totals[0].arrivals()
        let afterKill = arrivals.filter { $0 > killedAt! }
        let pause = zip([arrivals.last { $0 <= killedAt! } ?? killedAt!] + afterKill, afterKill).map { $1 - $0 }.max()
        reliabilityRow(
            "processor",
            "kill -9 of one of two processors mid-stream (2 ingest servers, 2 channels, 3 nodes; consumer session \(sessionTimeout ?? "6s, the default"))",
            "accepted \(total), counted \(total) (exact); the survivor took all 8 partitions \(seconds(tookOver)) after the kill; "
                + "longest pause between bursts on node-1 \(pause.map(seconds) ?? "?"); seq 1…\(sequences[0].count) gap-free and identical on every node")
    }
}

/// Raw counts a viewer has received so far, summed over its bursts, and the seqs of those bursts.
final class ViewerTotals: Sendable {
    struct State {
        var counts: [String: Int] = [:]
        var seqs: [UInt64] = []
        /// How long after its window's end each burst arrived, in the order of `seqs`.
        var lateness: [Int64] = []
        /// When each burst arrived, in the order of `seqs`.
        var arrivals: [ContinuousClock.Instant] = []
    }

    let state = Mutex(State())

    /// Reads the viewer's messages until its stream ends (or the task is cancelled).
    func consume(_ inbox: Inbox) async {
        for await text in inbox.stream {
            guard let message = try? ViewerMessage(text), message.type == "burst" else { continue }
            state.withLock { state in
                state.seqs.append(message.seq)
                state.arrivals.append(.now)
                if let end = message.windowEnd.flatMap(ISO8601Millis.parse) { state.lateness.append(EpochMillis.now() - end) }
                state.counts.merge(counts(message), uniquingKeysWith: +)
            }
        }
    }

    func seqs() -> [UInt64] { state.withLock { $0.seqs } }

    /// Milliseconds from window end to arrival of the bursts received so far.
    func lateness() -> [Int64] { state.withLock { $0.lateness } }

    /// When the bursts received so far arrived.
    func arrivals() -> [ContinuousClock.Instant] { state.withLock { $0.arrivals } }

    func waitUntil(seconds: Int, _ condition: @escaping @Sendable ([String: Int]) -> Bool) async throws -> [String: Int] {
        try await withTimeout(seconds: seconds) {
            while true {
                let now = self.state.withLock { $0.counts }
                if condition(now) { return now }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }
}

/// A Kafka fleet whose processors hold partitions, watched by three SSE devices of one tier-1 account, each on its
/// own node, with the raw counts each has received.
final class WatchedFleet: Sendable {
    let fleet: KafkaFleet
    let viewers: [Account.SSEViewer]
    let totals: [ViewerTotals]
    let readers: [Task<Void, Never>]

    private init(fleet: KafkaFleet, viewers: [Account.SSEViewer], totals: [ViewerTotals], readers: [Task<Void, Never>]) {
        self.fleet = fleet
        self.viewers = viewers
        self.totals = totals
        self.readers = readers
    }

    static func start(extra: [String: String] = [:]) async throws -> WatchedFleet {
        let fleet = try await KafkaFleet.start(extra: extra)
        do {
            for processor in fleet.processors {
                _ = try await processor.waitForLine { $0.contains("partitions assigned: [") && !$0.contains("partitions assigned: []") }
            }
            let viewers = try await Account.make(fleet.api, tier: 1).watchOverSSE(devices: 3)
            let totals = viewers.map { _ in ViewerTotals() }
            let readers = zip(viewers, totals).map { viewer, total in Task { await total.consume(viewer.inbox) } }
            return WatchedFleet(fleet: fleet, viewers: viewers, totals: totals, readers: readers)
        } catch {
            fleet.stop()
            throw error
        }
    }

    func stop() {
        readers.forEach { $0.cancel() }
        viewers.forEach { $0.task.cancel() }
        fleet.stop()
    }
}

/// A fleet of `emostream` processes on the test broker and a fresh PostgreSQL database, with its own topic names.
struct KafkaFleet {
    static var brokers: String? { ProcessInfo.processInfo.environment["EMOSTREAM_TEST_KAFKA_BROKERS"] }

    var api: String
    var ingest: [String]
    var processors: [RoleProcess]
    var all: [RoleProcess]
    var publisher: RoleProcess? = nil
    /// What every process of the fleet was started with.
    var environment: [String: String] = [:]

    static func start(brokers: String = KafkaFleet.brokers!, extra: [String: String] = [:]) async throws -> KafkaFleet {
        let databaseURL = try await FleetDatabase.create()
        let environment = [
            "EMOSTREAM_DATABASE_URL": databaseURL, "EMOSTREAM_SECRET": testSecret, "EMOSTREAM_BCRYPT_COST": "4",
            "EMOSTREAM_KAFKA_BROKERS": brokers, "EMOSTREAM_KAFKA_PREFIX": "t\(UInt32.random(in: 0...UInt32.max))-",
            "EMOSTREAM_USER_RATE": "0", "EMOSTREAM_DATA_DIR": FileManager.default.temporaryDirectory
                .appendingPathComponent("emostream-fleet-\(UUID().uuidString)").path,
        ].merging(extra) { $1 }
        var all: [RoleProcess] = []
        func start(_ arguments: [String], _ ready: String) throws -> RoleProcess {
            let process = try RoleProcess.start(arguments, environment: environment, readyPrefix: ready)
            all.append(process)
            return process
        }
        do {
            let gateway = try start(["gateway", "--port", "0"], "EmoStream gateway ready: ")
            let api = try await gateway.ready()
            var processors: [RoleProcess] = []
            for index in 1...2 {
                processors.append(try start(["processor", "--name", "processor-\(index)"], "EmoStream processor ready: "))
            }
            let publisher = try start(["publisher"], "EmoStream publisher ready")
            var nodes: [RoleProcess] = []
            for index in 1...3 {
                nodes.append(try start(["node", "--port", "0", "--name", "node-\(index)", "--capacity", "10"], "EmoStream node ready: "))
            }
            var ingest: [String] = []
            for _ in 1...2 {
                ingest.append(try await start(["ingest", "--port", "0"], "EmoStream ingest ready: ").ready())
            }
            for process in processors + nodes { _ = try await process.ready() }
            _ = try await publisher.waitForLine { $0.contains("main publisher started") }
            return KafkaFleet(
                api: api, ingest: ingest, processors: processors, all: all, publisher: publisher, environment: environment)
        } catch {
            all.forEach { $0.kill() }
            throw error
        }
    }

    func stop() {
        all.forEach { $0.kill() }
    }

    /// Starts another publisher (after the first was killed); `stop()` does not know it, the caller kills it.
    func startPublisher() throws -> RoleProcess {
        try RoleProcess.start(["publisher"], environment: environment, readyPrefix: "EmoStream publisher ready")
    }

    /// Lines of the ingest processes for which `matches` holds.
    func ingestLogLines(_ matches: @escaping @Sendable (String) -> Bool) async throws -> Int {
        all.filter { $0.output.lines.withLock { $0.contains { $0.contains("EmoStream ingest ready") } } }
            .map { $0.output.lines.withLock { $0.filter(matches).count } }.reduce(0, +)
    }
}
