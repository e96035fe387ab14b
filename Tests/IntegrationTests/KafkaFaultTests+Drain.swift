import EmoCore
import Publisher
import Foundation
import Synchronization
import Testing

extension KafkaFaultTests {
    /// SIGTERM of an ingest server, a processor and the publisher (restarted), one after the other, under load that
    /// keeps requests in flight: each drains and exits 0, every accepted reaction reaches every node exactly once.
    @Test func everyRoleStoppedWithSIGTERMMidStreamDrainsAndLosesNothing() async throws {
        let watched = try await WatchedFleet.start()
        defer { watched.stop() }
        let fleet = watched.fleet
        let totals = watched.totals

        // Six loops without pauses on both ingest servers: a request is in flight whenever a signal arrives. Once
        // the first server is gone its loops move to the second.
        let load = LoadRecord()
        let ingestGone = Flag()
        let ingest = fleet.ingest
        let loaders = (0..<6).map { index in
            Task {
                var round = 0
                while !load.stopped {
                    let target = ingestGone.isSet ? ingest[1] : ingest[index % 2]
                    let started = ContinuousClock.now
                    let mix = [("😀", 2 + index), ("👏", 1)]
                    let result = try? await postReactions(target, mix, user: "d\(index)-\(round)")
                    load.record(status: result?.status, mix: mix, took: ContinuousClock.now - started)
                    round += 1
                    if result?.status != 202 { try? await Task.sleep(for: .milliseconds(50)) }
                }
            }
        }
        _ = try await totals[0].waitUntil(seconds: 30) { $0.values.reduce(0, +) > 0 }

        // 1. The first ingest server (the processes start in this order: gateway, processors, publisher, nodes, ingest).
        let ingestServer = fleet.all[fleet.all.count - 2]
        let ingestStop = ContinuousClock.now
        ingestServer.terminate()
        let ingestExit = ContinuousClock.now - ingestStop
        ingestGone.set()
        #expect(ingestServer.process.terminationReason == .exit && ingestServer.process.terminationStatus == 0)
        let afterIngest = load.summary()

        // 2. The first processor: it leaves its group, so the survivor takes every partition without waiting out the
        // session timeout.
        let survivor = fleet.processors[1]
        let seenLines = survivor.linesSoFar
        let processorStop = ContinuousClock.now
        fleet.processors[0].terminate()
        let processorExit = ContinuousClock.now - processorStop
        #expect(fleet.processors[0].process.terminationReason == .exit && fleet.processors[0].process.terminationStatus == 0)
        _ = try await survivor.waitForLine(seconds: 30, skipping: seenLines) {
            $0.contains("partitions assigned: [0, 1, 2, 3, 4, 5, 6, 7]")
        }
        let takenOver = ContinuousClock.now - processorStop

        // Back to steady state: a burst that arrived as soon as it usually does after its window's end.
        let steadyFrom = totals[0].lateness().count
        _ = try await withTimeout(seconds: 30) {
            while !totals[0].lateness().dropFirst(steadyFrom).contains(where: { $0 < 2_500 }) {
                try await Task.sleep(for: .milliseconds(50))
            }
        }

        // 3. The publisher, restarted at once: the new one joins a group the old one has left.
        let publisher = try #require(fleet.publisher)
        let seqsBefore = totals[0].seqs().count
        let publisherStop = ContinuousClock.now
        publisher.terminate()
        let publisherExit = ContinuousClock.now - publisherStop
        #expect(publisher.process.terminationReason == .exit && publisher.process.terminationStatus == 0)
        let restarted = try fleet.startPublisher()
        defer { restarted.kill() }
        _ = try await restarted.waitForLine { $0.contains("main publisher started") }
        let seqsAtRestart = max(seqsBefore, totals[0].seqs().count)
        _ = try await withTimeout(seconds: 60) {
            while totals[0].seqs().count <= seqsAtRestart { try await Task.sleep(for: .milliseconds(50)) }
        }
        let publisherResumed = ContinuousClock.now - publisherStop
        // How late the first burst of the new publisher was, against the bursts before the signal.
        let lateness = totals[0].lateness()
        let steady = lateness.prefix(steadyFrom).sorted()
        let firstAfter = lateness[seqsAtRestart]

        try await Task.sleep(for: .seconds(2))  // a little more load after the last signal; not a wait for anything
        load.stop()
        for loader in loaders { await loader.value }
        #expect(try await postReactions(fleet.ingest[1], [("🎉", 1)], user: "marker").status == 202)
        var expected = load.accepted
        expected["🎉", default: 0] += 1
        let accepted = expected
        let summary = load.summary()
        for viewer in totals {
            let seen = try await viewer.waitUntil(seconds: 90) {
                $0["🎉", default: 0] >= 1 && $0.values.reduce(0, +) >= accepted.values.reduce(0, +)
            }
            #expect(seen == accepted, "\(summary)")
        }
        let sequences = totals.map { $0.seqs() }
        #expect(sequences[0] == Array(1...UInt64(sequences[0].count)))
        #expect(Set(sequences).count == 1, "every node saw the same bursts")
        // Only the ingest server that was stopped could refuse (connections it no longer accepts), never with a 5xx.
        #expect(summary.statuses.keys.allSatisfy { $0 == 202 || $0 == -1 }, "\(summary)")
        let total = accepted.values.reduce(0, +)
        // And the audit, counting the emoji topic again, finds exactly what was published.
        let audit = try expectAuditAgrees(fleet.environment, accepted: accepted)
        reliabilityRow(
            "every role", "SIGTERM under load (6 loops, no pauses) of an ingest server, then a processor, then the publisher (restarted at once)",
            "each exited 0: ingest after \(seconds(ingestExit)) (\(afterIngest.statuses[202] ?? 0) requests answered 202 by then, "
                + "none 5xx), processor after \(seconds(processorExit)) (the survivor held all 8 partitions "
                + "\(seconds(takenOver)) after the signal), publisher after \(seconds(publisherExit)) (bursts again "
                + "\(seconds(publisherResumed)) after the signal, its first \(firstAfter) ms after its window's end against a median "
                + "of \(steady[steady.count / 2]) ms before); accepted \(total), counted \(total) on each of 3 nodes "
                + "(exact); seq 1…\(sequences[0].count) gap-free and identical; `emostream audit` recounted the emoji topic: "
                + "\(audit?.bursts ?? 0) bursts = the records of their ledgers' range, consistent")
    }
}

/// A flag one task sets and others read.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}

/// Runs `emostream audit` with a fleet's environment and decodes its report.
func runAudit(environment: [String: String]) throws -> (status: Int32, output: String, report: PublicationAudit.Report?) {
    let process = Process()
    process.executableURL = RoleProcess.binary
    process.arguments = ["audit"]
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitForExit()
    let report = try? JSONDecoder().decode(PublicationAudit.Report.self, from: output)
    return (process.terminationStatus, String(decoding: output, as: UTF8.self), report)
}

/// Runs `emostream audit` over a fleet's topics and expects it to find the published bursts equal to the `emoji`
/// records, and (when given) the reactions accepted per emoji, over all channels.
@discardableResult
func expectAuditAgrees(_ environment: [String: String], accepted: [String: Int]? = nil) throws -> PublicationAudit.Report? {
    let audit = try runAudit(environment: environment)
    #expect(audit.status == 0, "\(audit.output)")
    #expect(audit.report?.consistent == true, "\(audit.output)")
    #expect(audit.report?.published == audit.report?.logged, "\(audit.output)")
    if let accepted {
        let audited = (audit.report?.published ?? [:]).values.reduce(into: [String: Int]()) { $0.merge($1, uniquingKeysWith: +) }
        #expect(audited == accepted, "\(audit.output)")
    }
    return audit.report
}
