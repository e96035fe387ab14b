import Foundation
import NIOCore
import Testing

/// What a server process holds for connections that cost it nothing to serve: idle TCP connections and a viewer
/// that stopped reading. Measured on a real `emostream up` (its resident set, from /proc), asserted only loosely
/// (memory must not grow with what is sent); the figures go to docs/reliability.md.
@Suite(.serialized) struct MemoryBoundsTests {
    /// `emostream up` on free ports with one node, its own data dir, and `extra` flags.
    static func startUp(_ extra: [String]) async throws -> (RoleProcess, String) {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-mem-\(UUID().uuidString)").path
        let up = try RoleProcess.start(
            ["up", "--port", "0", "--node-base-port", "0", "--nodes", "1", "--data-dir", dataDir] + extra,
            environment: ["EMOSTREAM_SECRET": testSecret, "EMOSTREAM_BCRYPT_COST": "4", "EMOSTREAM_USER_RATE": "0"],
            readyPrefix: "EmoStream ready: ")
        return (up, try await up.ready())
    }

    /// Resident set size of `process` in bytes.
    static func rss(_ process: Process) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])! * 1024
    }

    /// GET /healthz's status. The server closes idle keep-alive connections after its header timeout, which can race
    /// with the shared client reusing one: a request that fails on a closed connection is sent again.
    static func health(_ api: String) async throws -> Int {
        for _ in 0..<2 {
            if let result = try? await request(.GET, api + "/healthz", contentType: nil) { return result.status }
        }
        return try await request(.GET, api + "/healthz", contentType: nil).status
    }

    static func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

    @Test func idleConnectionsAreReapedAndTheServerStaysResponsive() async throws {
        let (up, api) = try await Self.startUp(["--header-timeout", "3s"])
        defer { up.kill() }
        for _ in 0..<20 { _ = try await Self.health(api) }  // warm
        let before = try Self.rss(up.process)
        var idle: [RawConnection] = []
        while idle.count < 5_000 {
            // Under a busy machine the accept queue may overflow and a connect fail; open another then.
            if let connection = try? await RawConnection.open(api) { idle.append(connection) }
        }
        let opened = ContinuousClock.now
        // While they sit there, others are served.
        #expect(try await Self.health(api) == 200)
        let during = try Self.rss(up.process)
        // Each is closed by the server after the header timeout, with a JSON 408.
        var cut = 0
        for connection in idle {
            if let text = try await connection.readToClose(within: .seconds(30)), RawAnswer(text)?.status == 408 { cut += 1 }
        }
        let reapedAfter = ContinuousClock.now - opened
        #expect(cut == idle.count)
        let after = try Self.rss(up.process)
        #expect(try await Self.health(api) == 200)
        #expect(during - before < 256 << 20, "RSS \(Self.megabytes(before)) → \(Self.megabytes(during))")
        reliabilityRow(
            "abuse", "5,000 idle TCP connections to the API of `emostream up` (--header-timeout 3 s)",
            "all 5,000 closed by the server with JSON 408 within \(seconds(reapedAfter)); /healthz answered meanwhile; RSS "
                + "\(Self.megabytes(before)) before, \(Self.megabytes(during)) with them "
                + "(\((during - before) / 5_000 / 1024) KB each), \(Self.megabytes(after)) after (before: 54 → 101 → 102 MB, never cut)")
    }

    @Test func aViewerThatStopsReadingFor200BurstsCostsABoundedBuffer() async throws {
        // The stall timeout outlasts the 200 bursts however slow the machine: a stalled viewer disconnected midway
        // would stop counting drops (each round takes ~60-100 ms, so the default 10 s cut it after ~105-170 bursts).
        let (up, api) = try await Self.startUp(["--window", "50ms", "--viewer-buffer", "8", "--viewer-stall-timeout", "120s"])
        defer { up.kill() }
        let (stalled, fast, fastTask) = try await StalledWebSocket.beside(try await Account.make(api))
        defer { stalled.close() }
        defer { fastTask.cancel() }
        let manyEmojis = StalledWebSocket.bigBurst
        let before = try Self.rss(up.process)
        var peak = before
        var frameBytes = 0
        for round in 1...200 {
            #expect(try await postReactions(api, manyEmojis, user: "r\(round)").status == 202)
            let text = try await fast.nextText()
            let burst = try ViewerMessage(text)
            #expect(burst.seq == UInt64(round) && burst.total == manyEmojis.count)
            frameBytes += text.utf8.count
            if round % 20 == 0 { peak = max(peak, try Self.rss(up.process)) }
        }
        let metrics = try await request(.GET, api + "/metrics", contentType: nil).text
        let drops = metrics.split(separator: "\n").first { $0.hasPrefix("emostream_viewer_drops_total") }
            .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
        // The stalled viewer holds at most its buffer (8 bursts) and what its socket took before it filled: the rest
        // of the 200 was dropped, not queued.
        #expect(drops >= 150, "\(metrics.prefix(400))")
        // A sanity bound only: the process's own allocations (600 reactions a request) dominate the growth.
        #expect(peak - before < 128 << 20, "RSS \(Self.megabytes(before)) → \(Self.megabytes(peak))")
        reliabilityRow(
            "node", "a WebSocket viewer that never reads while 200 bursts of ~\(frameBytes / 200 / 1024) KB are published (--viewer-buffer 8)",
            "the other viewer got 200 of 200 in order; \(Int(drops)) bursts dropped for the stalled one; RSS "
                + "\(Self.megabytes(before)) → peak \(Self.megabytes(peak)) while \(Self.megabytes(frameBytes)) were published")
    }
}
