// emostream-bench: how many bursts per second the main publisher sustains with many active channels.
//
//   swift run -c release emostream-bench [--channels 1000] [--windows 100] [--partitions 8] [--emojis 3]
//
// For each case (1 channel, then N channels) it appends processor reports to `emoji-counts` of an
// embedded event log (one per window, every source partition with counts for every channel), then runs the real
// MainPublisher over them and times it until every burst is in `publisher-emojis`: decoding the reports, merging
// them per window, scale-down, numbering per channel, encoding and appending the bursts. It prints bursts/s and
// windows/s of both cases and their ratio, measured in the same invocation. No assertions: figures only.
import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import PipelineTopics
import Publisher

struct Options {
    var channels = 1000
    var windows = 100
    var partitions = PipelineTopics.defaultReactionPartitions
    var emojis = 3

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next().flatMap(Int.init), value > 0 else {
                FileHandle.standardError.write(Data("usage: emostream-bench [--channels N] [--windows N] [--partitions N] [--emojis N]\n".utf8))
                exit(2)
            }
            switch flag {
            case "--channels": channels = value
            case "--windows": windows = value
            case "--partitions": partitions = value
            case "--emojis": emojis = min(value, Emoji.aliases.count)
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

struct Outcome {
    var channels: Int
    var bursts: Int
    var seconds: Double
    var burstsPerSecond: Double { Double(bursts) / seconds }
    var windowsPerSecond: Double
}

/// Runs the publisher over `windows` reports of `channels` channels; returns once every burst was appended.
func measure(channels: Int, windows: Int, options: Options) async throws -> Outcome {
    let log = EmbeddedEventLog()
    for spec in PipelineTopics.specs(reactionPartitions: options.partitions) { try await log.ensureTopic(spec) }
    let names = channels == 1 ? [ChannelName.defaultName] : (1...channels).map { "ch-\($0)" }
    let glyphs = Array(Emoji.aliases.values.sorted().prefix(options.emojis))
    let windowLength: EpochMillis = 2000
    for window in 0..<windows {
        let start = EpochMillis(window) * windowLength
        var partitions: [PartitionCounts] = []
        for partition in 0..<options.partitions {
            var counts: [String: [String: Int]] = [:]
            for (index, name) in names.enumerated() {
                var emojis: [String: Int] = [:]
                for (rank, glyph) in glyphs.enumerated() { emojis[glyph] = 1 + (index + rank + partition + window) % 97 }
                counts[name] = emojis
            }
            partitions.append(PartitionCounts(partition: partition, channels: counts))
        }
        let report = ProcessorReport(
            processor: "bench", watermark: start + windowLength, partitions: Array(0..<options.partitions),
            windows: [WindowCounts(start: start, end: start + windowLength, partitions: partitions)])
        try await log.append([report], to: PipelineTopics.windowReports)
    }

    let expected = windows * channels
    let reader = try log.makeConsumer(ConsumerOptions(topic: PipelineTopics.bursts.name, start: .earliest, clientID: "bench"))
    let logger = Logger(label: "bench", factory: { _ in SwiftLogNoOpLogHandler() })
    let publisher = MainPublisher(
        log: log, configuration: .init(scaleDown: ScaleDown(), maxPollWait: .milliseconds(50)), logger: logger,
        metrics: NOOPMetricsHandler.instance)
    let started = ContinuousClock.now
    let (seen, elapsed) = try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await publisher.run() }
        var seen = 0
        while seen < expected {
            seen += try await reader.poll(maxWait: .seconds(5)).records.count
        }
        let elapsed = ContinuousClock.now - started
        group.cancelAll()
        return (seen, elapsed)
    }
    reader.close()
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    return Outcome(
        channels: channels, bursts: seen, seconds: seconds, windowsPerSecond: Double(windows) / seconds)
}

let options = Options(CommandLine.arguments)
#if DEBUG
let build = "debug build: use `swift run -c release emostream-bench` for figures worth quoting"
#else
let build = "release build"
#endif
// The one-channel baseline is quick: give it more windows (at least 2,000) so that its figure is stable.
let baselineWindows = max(options.windows, 2000)
print(
    "main publisher: \(options.partitions) source partitions, \(options.emojis) emoji types per channel and partition; "
        + "\(baselineWindows) windows of 1 channel, \(options.windows) windows of \(options.channels) channels (\(build))")
print("channels\tbursts\tseconds\tbursts/s\twindows/s")
var outcomes: [Outcome] = []
for (channels, windows) in [(1, baselineWindows), (options.channels, options.windows)] {
    let outcome = try await measure(channels: channels, windows: windows, options: options)
    outcomes.append(outcome)
    print(
        String(
            format: "%d\t%d\t%.2f\t%.0f\t%.1f", outcome.channels, outcome.bursts, outcome.seconds, outcome.burstsPerSecond,
            outcome.windowsPerSecond))
}
print(
    String(
        format: "ratio %d channels / 1 channel: %.1fx bursts/s (%.3fx windows/s)", options.channels,
        outcomes[1].burstsPerSecond / outcomes[0].burstsPerSecond, outcomes[1].windowsPerSecond / outcomes[0].windowsPerSecond))
