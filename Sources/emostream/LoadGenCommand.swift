import ArgumentParser
import EmoCore
import Foundation
import LoadGen

struct LoadGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Send reactions to a running EmoStream (the original scaletest: 300 😀 + 200 😢 every 500 ms).")

    @Option(help: "Base URL of the API (env: EMOSTREAM_URL).")
    var url: String = Env.value("EMOSTREAM_URL", "http://127.0.0.1:8080")

    @Option(help: "😀 per tick.")
    var happy: Int = 300

    @Option(help: "😢 per tick.")
    var sad: Int = 200

    @Option(help: "Time between ticks, e.g. 500ms.")
    var interval: DurationArgument = DurationArgument(.milliseconds(500))

    @Option(help: "Simulated users the reactions come from.")
    var users: Int = 1000

    @Option(help: "Events per POST.")
    var batchSize: Int = 500

    @Option(help: "Stop after this long, e.g. 30s (default: until Ctrl-C).")
    var duration: DurationArgument?

    @Option(help: "Channel to send to.")
    var channel: String = ChannelName.defaultName

    func validate() throws {
        guard happy >= 0, sad >= 0, happy + sad > 0 else { throw ValidationError("send at least one reaction per tick") }
        guard users >= 1, batchSize >= 1, batchSize <= 10_000 else {
            throw ValidationError("--users must be positive and --batch-size within 1...10000")
        }
        guard ChannelName.isValid(channel) else { throw ValidationError("--channel must be 1-64 chars of [a-z0-9_-]") }
    }

    func run() async throws {
        var configuration = LoadGenerator.Configuration()
        configuration.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        configuration.mix = [("😀", happy), ("😢", sad)].filter { $0.1 > 0 }
        configuration.interval = interval.duration
        configuration.users = users
        configuration.batchSize = batchSize
        configuration.duration = duration?.duration
        configuration.channel = channel
        let generator = LoadGenerator(configuration: configuration)
        let task = Task {
            try await generator.run { elapsed, stats in
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                let rate = seconds > 0 ? Double(stats.accepted) / seconds : 0
                let line = String(
                    format: "t=%5.1fs sent=%d accepted=%d errors=%d requests=%d rate=%.0f/s\n", seconds, stats.sent,
                    stats.accepted, stats.errors, stats.requests, rate)
                FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered, also when piped
            }
        }
        let signals = [SIGINT, SIGTERM].map { signal -> any DispatchSourceSignal in
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal)
            source.setEventHandler { task.cancel() }
            source.resume()
            return source
        }
        defer { signals.forEach { $0.cancel() } }
        try await task.value
    }
}
