import AsyncHTTPClient
import EmoCore
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// Faults of the broker under load, on a broker of the test's own (it is stopped and killed): a 202 must mean the
/// reaction reaches every viewer exactly once, whatever the broker does meanwhile.
@Suite(.serialized, .enabled(if: TestBrokerProcess.binary != nil, "needs EMOSTREAM_TANSU_BIN (scripts/with-kafka.sh)"))
struct KafkaFaultTests {
    @Test func aBrokerStalledFor15SecondsUnderLoadLosesAndDuplicatesNothing() async throws {
        let broker = try await TestBrokerProcess.start()
        defer { broker.kill() }
        let fleet = try await KafkaFleet.start(brokers: broker.address)
        defer { fleet.stop() }
        for processor in fleet.processors {
            _ = try await processor.waitForLine { $0.contains("partitions assigned: [") && !$0.contains("partitions assigned: []") }
        }
        let account = try await Account.make(fleet.api, tier: 1)
        let viewer = connectSSE(try await account.place().sseURL)
        defer { viewer.1.cancel() }
        #expect(try await viewer.0.next().type == "hello")
        let totals = ViewerTotals()
        let reader = Task { await totals.consume(viewer.0) }
        defer { reader.cancel() }

        // Load on both ingest servers for the whole run; the broker is stopped 3 s in, for 15 s.
        let load = LoadRecord()
        let ingest = fleet.ingest
        let loaders = (0..<4).map { index in
            Task {
                var round = 0
                while !load.stopped {
                    let started = ContinuousClock.now
                    let mix = [("😀", 7 + index), ("🔥", 3)]
                    let result = try? await postReactions(ingest[index % 2], mix, user: "l\(index)-\(round)")
                    load.record(status: result?.status, mix: mix, took: ContinuousClock.now - started)
                    round += 1
                    try? await Task.sleep(for: .milliseconds(100))  // paces the load; not a wait for anything
                }
            }
        }
        try await Task.sleep(for: .seconds(3))
        broker.signal(SIGSTOP)
        try await Task.sleep(for: .seconds(15))
        broker.signal(SIGCONT)
        try await Task.sleep(for: .seconds(5))
        load.stop()
        for loader in loaders { await loader.value }
        let marker = try await postReactions(fleet.ingest[0], [("🎉", 1)], user: "marker")
        #expect(marker.status == 202)
        var expected = load.accepted
        expected["🎉", default: 0] += 1
        let accepted = expected

        let summary = load.summary()
        let seen: [String: Int]
        do {
            seen = try await totals.waitUntil(seconds: 90) {
                $0["🎉", default: 0] >= 1 && $0.values.reduce(0, +) >= accepted.values.reduce(0, +)
            }
        } catch {
            let logs = fleet.all.map { $0.output.lines.withLock { $0.suffix(25).joined(separator: "\n") } }
            Issue.record("viewer saw \(totals.state.withLock { $0.counts }) of \(accepted); \(summary)\n\(logs.joined(separator: "\n----\n"))")
            return
        }
        #expect(seen == accepted, "\(summary)")
        // The stall is shorter than the delivery timeout (30 s): every request is acknowledged once the broker resumes.
        #expect(summary.refusedOtherThan503 == 0, "\(summary)")
        let seqs = totals.seqs()
        #expect(seqs == Array(1...UInt64(seqs.count)))
        try expectAuditAgrees(fleet.environment, accepted: accepted)
        reliabilityRow(
            "broker", "SIGSTOP 15 s under load (2 ingest servers, 2 processors, 4 posting loops)",
            "accepted \(summary.acceptedReactions + 1), counted \(seen.values.reduce(0, +)) (exact); "
                + "\(summary.status503) × 503; slowest answer \(seconds(summary.slowest)); seq 1…\(seqs.count) gap-free")
    }
}

extension KafkaFaultTests {
    @Test func aBrokerThatComesBackEmptyGetsItsTopicsBackAndEverythingRecoversByItself() async throws {
        var broker = try await TestBrokerProcess.start()
        defer { broker.kill() }
        let fleet = try await KafkaFleet.start(brokers: broker.address, extra: ["EMOSTREAM_NODE_TTL": "60s"])
        defer { fleet.stop() }
        for processor in fleet.processors {
            _ = try await processor.waitForLine { $0.contains("partitions assigned: [") && !$0.contains("partitions assigned: []") }
        }
        let account = try await Account.make(fleet.api, tier: 1)
        let viewer = connectSSE(try await account.place().sseURL)
        defer { viewer.1.cancel() }
        #expect(try await viewer.0.next().type == "hello")
        let totals = ViewerTotals()
        let reader = Task { await totals.consume(viewer.0) }
        defer { reader.cancel() }
        #expect(try await postReactions(fleet.ingest[0], [("😀", 5)], user: "before").status == 202)
        _ = try await totals.waitUntil(seconds: 60) { $0["😀", default: 0] >= 5 }

        // The broker dies and comes back on the same port with nothing: no topics, no groups, no offsets.
        broker.kill()
        let outage = ContinuousClock.now
        let health = try await request(.GET, fleet.ingest[0] + "/healthz", contentType: nil)
        #expect(health.status == 503, "\(health.text)")
        #expect(health.text.contains("\"log\":\"unavailable\""), "\(health.text)")
        broker = try await TestBrokerProcess.start(port: broker.port)

        // Nobody runs `emostream topics create`: ingest answers 503 until its topics are back, then 202.
        let ingest = fleet.ingest[1]
        let (recovered, refused) = try await withTimeout(seconds: 60) {
            var refused = 0
            while true {
                let result = try await postReactions(ingest, [("🔥", 1)], user: "probe")
                if result.status == 202 { return (ContinuousClock.now - outage, refused) }
                #expect(result.status == 503, "\(result.text)")
                refused += 1
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        var accepted = ["🔥": 1]
        for round in 0..<10 {
            let result = try await postReactions(fleet.ingest[round % 2], [("😢", 3), ("🔥", 2)], user: "after-\(round)")
            #expect(result.status == 202, "\(result.text)")
            accepted["😢", default: 0] += 3
            accepted["🔥", default: 0] += 2
        }
        #expect(try await postReactions(fleet.ingest[0], [("🎉", 1)], user: "marker").status == 202)
        accepted["🎉"] = 1
        accepted["😀"] = 5
        let expected = accepted
        let seen: [String: Int]
        do {
            seen = try await totals.waitUntil(seconds: 90) { $0["🎉", default: 0] >= 1 && $0.values.reduce(0, +) >= expected.values.reduce(0, +) }
        } catch {
            let logs = fleet.all.map { $0.output.lines.withLock { $0.suffix(20).joined(separator: "\n") } }
            Issue.record("viewer saw \(totals.state.withLock { $0.counts }) of \(expected)\n\(logs.joined(separator: "\n----\n"))")
            return
        }
        #expect(seen == expected)
        let resumed = ContinuousClock.now - outage
        let healthy = try await request(.GET, fleet.ingest[0] + "/healthz", contentType: nil)
        #expect(healthy.status == 200, "\(healthy.text)")
        let refusals = try await fleet.ingestLogLines { $0.contains("refusing reactions") }
        #expect(refusals >= 1)
        // The audit compares within the topic's new incarnation: the 😀 of before the outage went with the old one.
        try expectAuditAgrees(fleet.environment, accepted: expected.filter { $0.key != "😀" })
        reliabilityRow(
            "broker", "killed, restarted empty on the same port",
            "/healthz 503 during the outage; \(refused) × 503 until ingest had re-created the topics; first 202 after "
                + "\(seconds(recovered)); bursts again after \(seconds(resumed)); afterwards accepted == counted (\(expected.values.reduce(0, +)))")
    }
}

extension KafkaFaultTests {
    /// How the publisher is a member of its consumer group.
    enum PublisherMembership: String, CaseIterable, Sendable {
        /// A static member (--instance-id): the restarted publisher takes the dead one's place without waiting out
        /// its session; the test broker holds each JoinGroup and SyncGroup of a static member 3 s.
        case staticMember
        /// A dynamic member with a 2 s session (--kafka-session-timeout 2s), which the test broker lets rejoin in
        /// about a second; Apache Kafka refuses sessions under 6 s unless told otherwise.
        case shortSession

        var environment: [String: String] {
            switch self {
            case .staticMember: ["EMOSTREAM_PUBLISHER_INSTANCE_ID": "publisher-main"]
            case .shortSession: ["EMOSTREAM_KAFKA_SESSION_TIMEOUT": "2s"]
            }
        }

        var described: String {
            switch self {
            case .staticMember:
                "a static member, --instance-id: no wait for the dead member's session; the broker holds a static JoinGroup 3 s and its SyncGroup 3 s"
            case .shortSession:
                "a dynamic member with a 2 s session, --kafka-session-timeout 2s, on every process of the fleet"
            }
        }
    }

    /// kill -9 of the publisher (then restarted) and of an ingest server, one after the other, mid-stream: every
    /// accepted reaction reaches the viewers of every node exactly once, with the same gap-free seq everywhere.
    @Test(arguments: PublisherMembership.allCases)
    func aPublisherAndAnIngestServerKilledMidStreamLoseAndDuplicateNothing(_ membership: PublisherMembership) async throws {
        let watched = try await WatchedFleet.start(extra: membership.environment)
        defer { watched.stop() }
        let fleet = watched.fleet
        let totals = watched.totals

        var accepted: [String: Int] = [:]
        var restarted: RoleProcess?
        defer { restarted?.kill() }
        var restartedAt: ContinuousClock.Instant?
        var publishedBeforeRestart = 0
        var seqsAtRestart = 0
        var killedAt: ContinuousClock.Instant?
        for round in 0..<30 {
            // After the ingest kill, the load goes to the survivor only (the dead one cannot answer at all).
            let ingest = round >= 20 ? fleet.ingest[1] : fleet.ingest[round % 2]
            let result = try await postReactions(ingest, [("😀", 3), ("😢", 2)], user: "k\(round)")
            #expect(result.status == 202, "\(result.text)")
            if result.status == 202 {
                accepted["😀", default: 0] += 3
                accepted["😢", default: 0] += 2
            }
            if round == 8 {
                // The publisher dies after it has published something (its recovery then has bursts to resume from).
                _ = try await totals[0].waitUntil(seconds: 30) { $0.values.reduce(0, +) > 0 }
                fleet.publisher?.kill()
                killedAt = .now
                publishedBeforeRestart = totals[0].seqs().count
            }
            if round == 12 {
                let publisher = try fleet.startPublisher()
                restarted = publisher
                _ = try await publisher.waitForLine { $0.contains("main publisher started") }
                restartedAt = .now
                seqsAtRestart = totals[0].seqs().count
            }
            if round == 20 {
                fleet.all[fleet.all.count - 2].kill()  // the first ingest server (the processes start in this order)
                let dead = try? await postReactions(fleet.ingest[0], [("😡", 1)], user: "to-the-dead")
                #expect(dead?.status != 202)
            }
            try await Task.sleep(for: .milliseconds(250))  // paces the load over windows; not a wait
        }
        #expect(try await postReactions(fleet.ingest[1], [("🎉", 1)], user: "marker").status == 202)
        accepted["🎉"] = 1
        let expected = accepted
        for viewer in totals {
            let seen = try await viewer.waitUntil(seconds: 90) {
                $0["🎉", default: 0] >= 1 && $0.values.reduce(0, +) >= expected.values.reduce(0, +)
            }
            #expect(seen == expected)
        }
        let sequences = totals.map { $0.seqs() }
        #expect(sequences[0] == Array(1...UInt64(sequences[0].count)))
        #expect(Set(sequences).count == 1, "every node saw the same bursts")
        #expect(publishedBeforeRestart >= 1)
        let resumedAt = totals[0].arrivals().dropFirst(seqsAtRestart).first
        try expectAuditAgrees(fleet.environment, accepted: expected)
        reliabilityRow(
            "publisher + ingest", "kill -9 of the publisher (a new one started \(seconds(restartedAt! - killedAt!)) later) and then of an ingest server, mid-stream",
            "accepted \(expected.values.reduce(0, +)), counted \(expected.values.reduce(0, +)) on each of 3 nodes (exact); "
                + "seq 1…\(sequences[0].count) gap-free and identical; the first burst of the new publisher arrived "
                + "\(resumedAt.map { seconds($0 - restartedAt!) } ?? "never") after it started, "
                + "\(resumedAt.map { seconds($0 - killedAt!) } ?? "never") after the kill (\(membership.described))")
    }
}

/// What the load loop saw.
final class LoadRecord: Sendable {
    struct State {
        var accepted: [String: Int] = [:]
        var statuses: [Int: Int] = [:]
        var slowest: Duration = .zero
        var stopped = false
    }

    var stopped: Bool { state.withLock { $0.stopped } }
    func stop() { state.withLock { $0.stopped = true } }

    struct Summary: CustomStringConvertible {
        var acceptedReactions: Int
        var status503: Int
        var refusedOtherThan503: Int
        var slowest: Duration
        var statuses: [Int: Int]
        var description: String { "statuses \(statuses), accepted reactions \(acceptedReactions), slowest \(slowest)" }
    }

    let state = Mutex(State())

    func record(status: Int?, mix: [(String, Int)], took: Duration) {
        state.withLock { state in
            state.statuses[status ?? -1, default: 0] += 1
            state.slowest = max(state.slowest, took)
            if status == 202 {
                for (emoji, count) in mix { state.accepted[emoji, default: 0] += count }
            }
        }
    }

    var accepted: [String: Int] { state.withLock { $0.accepted } }

    func summary() -> Summary {
        state.withLock { state in
            Summary(
                acceptedReactions: state.accepted.values.reduce(0, +), status503: state.statuses[503] ?? 0,
                refusedOtherThan503: state.statuses.filter { $0.key != 202 && $0.key != 503 }.values.reduce(0, +),
                slowest: state.slowest, statuses: state.statuses)
        }
    }
}

/// A Tansu broker of one test (memory storage, a free port), which the test may stop, continue and kill.
final class TestBrokerProcess: Sendable {
    static var binary: String? { ProcessInfo.processInfo.environment["EMOSTREAM_TANSU_BIN"] }

    let process: Process
    let port: Int
    var address: String { "127.0.0.1:\(port)" }

    private init(process: Process, port: Int) {
        self.process = process
        self.port = port
    }

    static func start(port: Int? = nil) async throws -> TestBrokerProcess {
        let port = try port ?? freePort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary!)
        process.arguments = [
            "broker", "--listener-url", "tcp://127.0.0.1:\(port)", "--advertised-listener-url", "tcp://127.0.0.1:\(port)",
            "--storage-engine", "memory://tansu/",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        let broker = TestBrokerProcess(process: process, port: port)
        try await withTimeout(seconds: 30) {
            while true {
                if try await canConnect(port: port) { return }
                guard process.isRunning else { throw TimedOut() }
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        return broker
    }

    static func freePort() throws -> Int {
        let channel = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).wait()
        let port = channel.localAddress!.port!
        try channel.close().wait()
        return port
    }

    static func canConnect(port: Int) async throws -> Bool {
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            try? await channel.close()
            return true
        } catch {
            return false
        }
    }

    func signal(_ signal: Int32) {
        Foundation.kill(process.processIdentifier, signal)
    }

    func kill() {
        if process.isRunning {
            Foundation.kill(process.processIdentifier, SIGCONT)
            Foundation.kill(process.processIdentifier, SIGKILL)
            process.waitForExit()
        }
    }
}
