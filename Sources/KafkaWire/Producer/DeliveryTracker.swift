import Synchronization

/// Collects the outcomes of the records of one `sendAndAwait` call and resumes the caller when all are known.
final class DeliveryTracker: Sendable {
    private struct State {
        var results: [KafkaRecordMetadata?]
        var failures: [Int: KafkaError] = [:]
        var remaining: Int
        var continuation: CheckedContinuation<[KafkaRecordMetadata], any Error>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func succeed(_ index: Int, _ metadata: KafkaRecordMetadata) {
        finish { state in
            guard state.results[index] == nil, state.failures[index] == nil else { return false }
            state.results[index] = metadata
            return true
        }
    }

    func fail(_ index: Int, _ error: KafkaError) {
        finish { state in
            guard state.results[index] == nil, state.failures[index] == nil else { return false }
            state.failures[index] = error
            return true
        }
    }

    /// Marks records that were never enqueued (the call failed part-way) as failed.
    func abandon(from index: Int, _ error: KafkaError) {
        for i in index..<state.withLock({ $0.results.count }) { fail(i, error) }
    }

    private func finish(_ update: (inout State) -> Bool) {
        let resume = state.withLock { state -> (CheckedContinuation<[KafkaRecordMetadata], any Error>, Result<[KafkaRecordMetadata], any Error>)? in
            guard update(&state) else { return nil }
            state.remaining -= 1
            guard state.remaining == 0, let c = state.continuation else { return nil }
            state.continuation = nil
            return (c, Self.outcome(state))
        }
        if let (c, result) = resume { c.resume(with: result) }
    }

    private static func outcome(_ state: State) -> Result<[KafkaRecordMetadata], any Error> {
        if let first = state.failures.keys.min() { return .failure(state.failures[first]!) }
        return .success(state.results.map { $0! })
    }

    func wait() async throws -> [KafkaRecordMetadata] {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<[KafkaRecordMetadata], any Error>? in
                if state.remaining == 0 { return Self.outcome(state) }
                state.continuation = continuation
                return nil
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
