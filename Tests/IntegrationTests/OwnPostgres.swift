import Foundation
import Synchronization

/// A PostgreSQL server of one test (its own cluster in a temp dir, a free port), which the test may stop and start
/// again on the same port. Needs the binaries `scripts/with-postgres.sh` found (`EMOSTREAM_TEST_PG_BIN`).
///
/// The server runs as a child process (not daemonized by `pg_ctl start`): Foundation learns that a child ended
/// through a descriptor the child inherits, and a daemon inheriting it would make every wait hang.
final class OwnPostgres: Sendable {
    static var binaries: String? { ProcessInfo.processInfo.environment["EMOSTREAM_TEST_PG_BIN"] }
    /// The user the server runs as (PostgreSQL refuses root); nil: the current one.
    static var user: String? { ProcessInfo.processInfo.environment["EMOSTREAM_TEST_PG_USER"].flatMap { $0.isEmpty ? nil : $0 } }

    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    let directory: String
    let port: Int
    private let server = Mutex<Process?>(nil)
    var data: String { directory + "/data" }
    /// Trust authentication on loopback: the cluster lives for one test.
    var url: String { "postgres://emostream@127.0.0.1:\(port)/postgres" }

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    static func create() async throws -> OwnPostgres {
        let postgres = OwnPostgres(
            directory: FileManager.default.temporaryDirectory.appendingPathComponent("emostream-pg-\(UUID().uuidString)").path,
            port: try TestBrokerProcess.freePort())
        try run("/bin/mkdir", ["-m", "700", postgres.directory])
        try run(binaries! + "/initdb", ["-D", postgres.data, "-U", "emostream", "--auth=trust", "-E", "UTF8", "--no-locale"])
        try await postgres.start()
        return postgres
    }

    /// Starts the server and waits until it accepts connections.
    func start() async throws {
        let process = Self.process(
            Self.binaries! + "/postgres",
            ["-D", data, "-c", "listen_addresses=127.0.0.1", "-c", "port=\(port)", "-c", "unix_socket_directories=\(directory)",
             "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        server.withLock { $0 = process }
        try await withTimeout(seconds: 60) {
            while (try? Self.run(Self.binaries! + "/pg_isready", ["-q", "-h", "127.0.0.1", "-p", "\(self.port)", "-t", "1"])) == nil {
                guard process.isRunning else { throw Failed(description: "postgres exited while starting") }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    /// Stops the server as an operator's restart does (fast shutdown: clients are disconnected).
    func stop() throws {
        try Self.run(Self.binaries! + "/pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"])
        server.withLock { $0 }?.waitForExit()
    }

    /// Freezes (`SIGSTOP`) or thaws (`SIGCONT`) the server and every backend it forked, as a hung host or a paused VM
    /// would: connections stay open and nothing answers.
    func signalAll(_ signal: Int32) throws {
        guard let root = server.withLock({ $0 })?.processIdentifier else { throw Failed(description: "the server is not running") }
        for pid in Self.descendants(of: root) + [root] {
            kill(pid, signal)
        }
    }

    /// The processes below `root`, from `/proc/<pid>/stat` (its fourth field is the parent's pid).
    static func descendants(of root: pid_t) -> [pid_t] {
        var parents: [pid_t: pid_t] = [:]
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 1, let parent = pid_t(fields[1]) { parents[pid] = parent }
        }
        var found: [pid_t] = []
        var frontier = [root]
        while let next = frontier.popLast() {
            let children = parents.filter { $0.value == next }.map(\.key)
            found += children
            frontier += children
        }
        return found
    }

    /// Stops the server if it runs and removes its files.
    func destroy() {
        if let process = server.withLock({ $0 }), process.isRunning {
            try? signalAll(SIGCONT)
            try? Self.run(Self.binaries! + "/pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"])
            process.waitForExit()
        }
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `tool` with `arguments`, as the server's user.
    static func process(_ tool: String, _ arguments: [String]) -> Process {
        let process = Process()
        if let user {
            process.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            process.arguments = ["-u", user, "--", tool] + arguments
        } else {
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
        }
        return process
    }

    /// Runs `tool` as the server's user and waits for it; throws with its output if it fails.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = process(tool, arguments)
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitForExit()
        guard process.terminationStatus == 0 else {
            throw Failed(description: "\(tool) \(arguments.joined(separator: " ")) failed: \(output)")
        }
        return output
    }
}
