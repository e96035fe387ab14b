import EventLog
import EmoCore
import NIOCore

/// The pipeline's topics, each defined once: ingest → `emoji` → stream processors → `emoji-counts` → main
/// publisher → `publisher-emojis` → cluster nodes (and the gateway's channel activity).
public enum PipelineTopics {
    /// Partitions of `emoji` unless configured otherwise (the processors share them).
    public static let defaultReactionPartitions = 8

    /// Raw reactions as accepted by ingest: one record per accepted request (``ReactionBatchCodec``), unkeyed, so
    /// that a request lands on one partition whole and is durable all at once or not at all; batched under load.
    /// Its record timestamps are the log's append time, which makes window completeness a property of the log.
    public static let reactions = Topic<[Reaction]>(
        name: "emoji", codec: ReactionBatchCodec(), delivery: .bulk, timestamps: .logAppendTime, weight: { $0.count })

    /// Per-window counts of the stream processors (one partition: the publisher reads them in order).
    public static let windowReports = Topic<ProcessorReport>(name: "emoji-counts", codec: ProcessorReportCodec())

    /// Ordered bursts from the main publisher, read by every node; keyed by channel. Only the newest are needed
    /// (replays after a reconnect), so the embedded log keeps a bounded ring.
    public static let bursts = Topic<BurstRecord>(
        name: "publisher-emojis", codec: BurstRecordCodec(), retention: .dropOldest,
        key: { ByteBuffer(string: $0.channel) })

    /// Every topic with the partitions it is created with.
    public static func specs(reactionPartitions: Int) -> [TopicSpec] {
        [reactions.spec(partitions: reactionPartitions), windowReports.spec(partitions: 1), bursts.spec(partitions: 1)]
    }
}
