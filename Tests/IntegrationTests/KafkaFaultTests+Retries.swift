import EmoCore
import EventLog
import PipelineTopics
import Foundation
import Testing

extension KafkaFaultTests {
    /// A client that did not get its answer retries with the request's `Idempotency-Key`: the reactions count once —
    /// after a 202 it never saw, after a `503 log_unavailable` whose record the stalled broker wrote anyway, and after
    /// the processor holding the keys' partition was killed (its successor reads the keys back from the log).
    @Test func requestsRetriedWithTheirIdempotencyKeyCountOnceThroughAStallAndAProcessorKill() async throws {
        let broker = try await TestBrokerProcess.start()
        defer { broker.kill() }
        let fleet = try await KafkaFleet.start(brokers: broker.address, extra: ["EMOSTREAM_KAFKA_DELIVERY_TIMEOUT": "2s"])
        defer { fleet.stop() }
        var owned: [[Int]] = []
        for processor in fleet.processors {
            let line = try await processor.waitForLine { $0.contains("partitions assigned: [") && !$0.contains("partitions assigned: []") }
            owned.append(Self.partitions(in: line))
        }
        let account = try await Account.make(fleet.api, tier: 1)
        let viewer = connectSSE(try await account.place().sseURL)
        defer { viewer.1.cancel() }
        #expect(try await viewer.0.next().type == "hello")
        let totals = ViewerTotals()
        let reader = Task { await totals.consume(viewer.0) }
        defer { reader.cancel() }

        // Two keys on one partition, owned by the processor that is killed later.
        let partitions = PipelineTopics.defaultReactionPartitions
        let keyA = "retry-a-\(UUID().uuidString)"
        let partition = Partitioner.partition(forKey: Array(keyA.utf8), partitions: partitions)
        let keyB = (0...).lazy.map { "retry-b-\($0)-\(UUID().uuidString)" }
            .first { Partitioner.partition(forKey: Array($0.utf8), partitions: partitions) == partition }!
        let victim = try #require(owned.firstIndex { $0.contains(partition) })
        let survivor = fleet.processors[1 - victim]
        let bodyA = Self.body([("😀", 4)], user: "a")
        let bodyB = Self.body([("🔥", 3)], user: "b")
        @Sendable func post(_ ingest: String, _ body: String, key: String) async throws -> HTTPResult {
            try await request(.POST, ingest + "/api/emojis", body: body, headers: [("Idempotency-Key", key)])
        }

        // 1. Answered 202, retried anyway (the client lost the answer), on the other ingest server.
        #expect(try await post(fleet.ingest[0], bodyA, key: keyA).status == 202)
        #expect(try await post(fleet.ingest[1], bodyA, key: keyA).status == 202)
        _ = try await totals.waitUntil(seconds: 60) { $0["😀", default: 0] >= 4 }

        // 2. The broker stops before it acknowledges: 503 within the 2 s delivery timeout. It resumes and writes the
        //    record it had been sent; the client's retries (503 while the producer reconnects, then 202) count nothing.
        broker.signal(SIGSTOP)
        let stalled = ContinuousClock.now
        let refused = try await post(fleet.ingest[0], bodyB, key: keyB)
        let refusedAfter = ContinuousClock.now - stalled
        #expect(refused.status == 503, "\(refused.text)")
        #expect(refused.text.contains("log_unavailable"), "\(refused.text)")
        // Meanwhile /healthz says the log is unavailable, promptly (its probe gives the broker 2 s).
        let probed = ContinuousClock.now
        let health = try await request(.GET, fleet.ingest[0] + "/healthz", contentType: nil)
        let healthAfter = ContinuousClock.now - probed
        #expect(health.status == 503, "\(health.text)")
        #expect(healthAfter < .seconds(10), "a frozen broker held /healthz \(healthAfter)")
        broker.signal(SIGCONT)
        let survivingIngest = fleet.ingest[1]
        let retries = try await withTimeout(seconds: 60) {
            var retries = 0
            while true {
                retries += 1
                if try await post(survivingIngest, bodyB, key: keyB).status == 202 { return retries }
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        _ = try await totals.waitUntil(seconds: 60) { $0["🔥", default: 0] >= 3 }

        // 3. kill -9 of the processor that holds both keys' partition; the survivor takes it over.
        let survivorLines = survivor.linesSoFar
        fleet.processors[victim].kill()
        let killed = ContinuousClock.now
        // It reads the partition from the oldest keyed record the victim's history still needed (the committed
        // offset). Kafka hands it the commit's metadata too, so it counts only from where the victim's counts end; the
        // test broker (Tansu) drops OffsetCommit metadata, so here it counts those records again and the publisher's
        // ledger drops what it already counted.
        _ = try await survivor.waitForLine(seconds: 90, skipping: survivorLines) {
            $0.contains("partitions assigned: [0, 1, 2, 3, 4, 5, 6, 7]")
        }
        let takenOver = ContinuousClock.now - killed
        #expect(try await post(fleet.ingest[0], bodyA, key: keyA).status == 202)
        #expect(try await post(fleet.ingest[1], bodyB, key: keyB).status == 202)
        #expect(try await postReactions(fleet.ingest[0], [("🎉", 1)], user: "marker").status == 202)

        let expected = ["😀": 4, "🔥": 3, "🎉": 1]
        let seen = try await totals.waitUntil(seconds: 90) { $0["🎉", default: 0] >= 1 }
        #expect(seen == expected)
        let seqs = totals.seqs()
        #expect(seqs == Array(1...UInt64(seqs.count)))
        let report = try expectAuditAgrees(fleet.environment, accepted: expected)
        // The 202 retry of A, every retry of B that reached the log, and the two after the kill.
        let repeated = report?.repeatedRequests ?? 0
        #expect(repeated >= 3, "\(String(describing: report))")
        reliabilityRow(
            "ingest + processor",
            "requests retried with their Idempotency-Key: after a 202, after a 503 from a stalled broker (delivery timeout 2 s), and after kill -9 of the processor holding their partition",
            "503 log_unavailable after \(seconds(refusedAfter)), /healthz 503 in \(seconds(healthAfter)); \(retries) retries until 202; survivor took the partition over "
                + "\(seconds(takenOver)) after the kill; posted 3 × 4 😀 + \(retries + 2) × 3 🔥, counted 4 😀 + 3 🔥 (exact); "
                + "the audit found \(repeated) repeated requests in the log and agrees")
    }

    static func partitions(in line: String) -> [Int] {
        guard let open = line.range(of: "partitions assigned: ["),
            let close = line[open.upperBound...].firstIndex(of: "]")
        else { return [] }
        return line[open.upperBound..<close].split(separator: ",").compactMap {
            Int($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// One request body with `count` events of each emoji, each from a user of its own.
    static func body(_ mix: [(String, Int)], user: String) -> String {
        let now = EpochMillis.now()
        var events: [String] = []
        for (emoji, count) in mix {
            for index in 0..<count {
                events.append(Reaction(userID: "\(user)-\(emoji.unicodeScalars.first!.value)-\(index)", emoji: emoji, clientTimestamp: now).jsonText())
            }
        }
        return "[" + events.joined(separator: ",") + "]"
    }
}
