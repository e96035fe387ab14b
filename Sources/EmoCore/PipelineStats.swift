import Synchronization

/// Running totals of one process's pipeline, for the operator page (the same events `/metrics` counts).
public final class PipelineStats: Sendable {
    private let accepted = Atomic<Int>(0)
    private let bursts = Atomic<Int>(0)

    public init() {}

    public func reactionsAccepted(_ count: Int) { accepted.add(count, ordering: .relaxed) }
    public func burstsPublished(_ count: Int) { bursts.add(count, ordering: .relaxed) }

    public var reactionsAcceptedTotal: Int { accepted.load(ordering: .relaxed) }
    public var burstsPublishedTotal: Int { bursts.load(ordering: .relaxed) }
}
