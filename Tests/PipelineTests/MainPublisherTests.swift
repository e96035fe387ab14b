import EmoCore
import EventLog
import Foundation
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import PipelineTopics
import Publisher
import Testing

@Suite struct MainPublisherTests {
    func report(_ start: EpochMillis, _ counts: [String: Int]) -> ProcessorReport {
        ProcessorReport(
            processor: "p", watermark: start + 2000, partitions: [0],
            windows: [WindowCounts(start: start, end: start + 2000, partitions: [PartitionCounts(partition: 0, channels: ["main": counts])])])
    }

    /// A report as the release before binary records wrote it: JSON.
    func legacyReport(_ start: EpochMillis, _ counts: [String: Int]) throws -> LogRecord {
        LogRecord(value: ByteBuffer(data: try JSONEncoder().encode(report(start, counts))))
    }

    /// Runs a publisher until `count` bursts are in `publisher-emojis` in all, then stops it.
    func runPublisher(_ log: EmbeddedEventLog, untilBursts count: Int) async throws -> [Burst] {
        let publisher = MainPublisher(
            log: log, configuration: .init(scaleDown: ScaleDown(scale: 1), maxPollWait: .milliseconds(50)),
            logger: Logger(label: "test"), metrics: NOOPMetricsHandler.instance)
        let task = Task { try await publisher.run() }
        defer { task.cancel() }
        let reader = try log.makeConsumer(ConsumerOptions(topic: PipelineTopics.bursts.name, start: .earliest))
        var bursts: [Burst] = []
        while bursts.count < count {
            for record in try await reader.poll(maxWait: .seconds(1)).records {
                // The viewer frame inside the record, as nodes forward it.
                let frame = try PipelineTopics.bursts.decode(record).frame
                bursts.append(try JSONDecoder().decode(Burst.self, from: frame))
            }
        }
        reader.close()
        task.cancel()
        _ = await task.result
        return bursts
    }

    @Test func aRestartedPublisherResumesSeqAndDoesNotRepublish() async throws {
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 1000))
        for spec in PipelineTopics.specs(reactionPartitions: 1) { try await log.ensureTopic(spec) }

        try await log.append([report(0, ["😀": 3])], to: PipelineTopics.windowReports)
        let first = try await runPublisher(log, untilBursts: 1)
        #expect(first.map(\.seq) == [1])

        // A processor that died before committing re-emits window 0; then window 2000 closes.
        try await log.append([report(0, ["😀": 3]), report(2000, ["😢": 4])], to: PipelineTopics.windowReports)
        let all = try await runPublisher(log, untilBursts: 2)
        #expect(all.map(\.seq) == [1, 2])
        #expect(all.map(\.windowStart) == [0, 2000])
        #expect(all[1].total == 4)
    }

    @Test func reportsWrittenAsJSONByTheReleaseBeforeAreStillRead() async throws {
        let log = EmbeddedEventLog(configuration: .init(partitionCapacity: 1000))
        for spec in PipelineTopics.specs(reactionPartitions: 1) { try await log.ensureTopic(spec) }
        try await log.append([try legacyReport(0, ["😀": 3])], to: PipelineTopics.windowReports.name)
        try await log.append([report(2000, ["😢": 4])], to: PipelineTopics.windowReports)
        let bursts = try await runPublisher(log, untilBursts: 2)
        #expect(bursts.map(\.seq) == [1, 2])
        #expect(bursts.map(\.total) == [3, 4])
    }
}
