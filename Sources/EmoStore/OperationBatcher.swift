import Synchronization

/// Runs concurrent calls of one store operation as batches (group commit): a call made while a batch is under way
/// waits for the next one, which takes every call queued by then, up to `maxBatch`. One batch runs at a time, so a
/// single call waits for nothing, and under load the cost of a round trip, a transaction and its locks is shared by
/// everything that arrived meanwhile. At most `maxQueued` calls wait; more fail at once with
/// ``EmoStoreError/unavailable(_:)``.
final class OperationBatcher<Request: Sendable, Response: Sendable>: Sendable {
    /// Runs one batch: one response per request, in order.
    typealias Run = @Sendable ([Request]) async throws -> [Response]

    private struct Waiting {
        var request: Request
        var continuation: CheckedContinuation<Response, any Error>
    }

    private struct State {
        var queue: [Waiting] = []
        var running = false
    }

    enum Admission {
        case queued
        case startBatches
        case full
    }

    let maxBatch: Int
    let maxQueued: Int
    private let state = Mutex(State())

    init(maxBatch: Int = 256, maxQueued: Int = 20_000) {
        precondition(maxBatch > 0 && maxQueued > 0)
        self.maxBatch = maxBatch
        self.maxQueued = maxQueued
    }

    /// Runs `request` in the next batch; `run` runs the batches started by this call (every caller passes the same).
    func submit(_ request: Request, run: @escaping Run) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            let admission = state.withLock { state -> Admission in
                guard state.queue.count < maxQueued else { return .full }
                state.queue.append(Waiting(request: request, continuation: continuation))
                guard !state.running else { return .queued }
                state.running = true
                return .startBatches
            }
            switch admission {
            case .queued:
                break
            case .full:
                continuation.resume(throwing: EmoStoreError.unavailable("\(maxQueued) store operations are already waiting"))
            case .startBatches:
                Task { await self.runBatches(run) }
            }
        }
    }

    /// Runs batches until the queue is empty.
    private func runBatches(_ run: Run) async {
        while let batch = nextBatch() {
            do {
                let responses = try await run(batch.map(\.request))
                guard responses.count == batch.count else {
                    throw EmoStoreError.corruptRow("a batch of \(batch.count) answered \(responses.count) results")
                }
                for (waiting, response) in zip(batch, responses) {
                    waiting.continuation.resume(returning: response)
                }
            } catch {
                for waiting in batch {
                    waiting.continuation.resume(throwing: error)
                }
            }
        }
    }

    private func nextBatch() -> [Waiting]? {
        state.withLock { state in
            guard !state.queue.isEmpty else {
                state.running = false
                return nil
            }
            let count = min(maxBatch, state.queue.count)
            let batch = Array(state.queue.prefix(count))
            state.queue.removeFirst(count)
            return batch
        }
    }
}
