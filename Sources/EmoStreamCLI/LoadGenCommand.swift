import ArgumentParser
import EmoCore
import Foundation
import LoadGen

/// The load generator's defaults: the original scaletest.
let loadDefaults = LoadGenerator.Configuration()

struct LoadGenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadgen",
        abstract: "Send reactions to a running EmoStream (the original scaletest: 300 😀 + 200 😢 every 500 ms).",
        discussion: """
            With --channels N the reactions are spread over ch-1 … ch-N with Zipf-skewed popularity (ch-1 the \
            most popular), and the generator watches the --watch most popular channels (one SSE viewer each, \
            through accounts it registers) and prints, per channel, what was sent, accepted and counted in the \
            bursts.
            """)

    @Option(help: Setting.url.help("Base URL of the API"))
    var url: String = Setting.url.value(loadDefaults.url)

    @Option(help: "😀 per tick.")
    var happy: Int = loadDefaults.mix[0].count

    @Option(help: "😢 per tick.")
    var sad: Int = loadDefaults.mix[1].count

    @Option(help: "Time between ticks, e.g. 500ms.")
    var interval: DurationArgument = DurationArgument(loadDefaults.interval)

    @Option(help: "Simulated users the reactions come from.")
    var users: Int = loadDefaults.users

    @Option(help: "Events per POST.")
    var batchSize: Int = loadDefaults.batchSize

    @Option(help: "Stop after this long, e.g. 30s (default: until Ctrl-C).")
    var duration: DurationArgument?

    @Option(help: "Channel to send to (with --channels 1).")
    var channel: String = ChannelName.defaultName

    @Option(help: "Spread the reactions over channels ch-1 … ch-N, Zipf-skewed (ch-1 the most popular).")
    var channels: Int = 1

    @Option(help: "Zipf exponent s of --channels: channel k gets a share proportional to 1/k^s.")
    var zipf: Double = 1

    @Option(help: "Channels (the most popular first) to watch and check against the bursts; default: all of --channels up to 20 when N > 1, none for one channel.")
    var watch: Int?

    func validate() throws {
        guard happy >= 0, sad >= 0, happy + sad > 0 else { throw ValidationError("send at least one reaction per tick") }
        guard users >= 1, batchSize >= 1, batchSize <= 10_000 else {
            throw ValidationError("--users must be positive and --batch-size within 1...10000")
        }
        guard ChannelName.isValid(channel) else { throw ValidationError("--channel must be 1-64 chars of [a-z0-9_-]") }
        guard (1...100_000).contains(channels) else { throw ValidationError("--channels must be within 1...100000") }
        guard zipf >= 0, zipf.isFinite else { throw ValidationError("--zipf must not be negative") }
        if let watch, !(0...channels).contains(watch) { throw ValidationError("--watch must be within 0...--channels") }
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
        configuration.channels = channels
        configuration.zipfExponent = zipf
        configuration.watch = watch ?? (channels > 1 ? min(channels, 20) : 0)
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
        guard channels > 1 || configuration.watch > 0 else { return }
        var lines = "channel\tsent\taccepted\tcounted\tmatch\n"
        var mismatches = 0
        for (name, tally) in generator.channelReport {
            let counted = tally.counted.map(String.init) ?? "-"
            let match = tally.matches.map { $0 ? "yes" : "NO" } ?? "not watched"
            if tally.matches == false { mismatches += 1 }
            lines += "\(name)\t\(tally.sent)\t\(tally.accepted)\t\(counted)\t\(match)\n"
        }
        FileHandle.standardOutput.write(Data(lines.utf8))
        if mismatches > 0 { throw RuntimeError("\(mismatches) watched channel(s) counted other than was accepted") }
    }
}
