import Synchronization

/// The first result of several racing tasks, handed to one waiting caller: used to answer as soon as an operation or
/// its deadline ends, without waiting for an operation that cannot be interrupted (a PostgreSQL query blocked on a
/// lock, a Kafka request to a broker that stopped answering: it runs on in its own task, bounded by its own timeout,
/// and its late result is dropped).
///
/// A lock-protected state machine: ``resolve(_:)`` may come before or after ``wait()`` has installed its
/// continuation; only the first result counts and the continuation is resumed exactly once, outside the lock.
public final class FirstResult<T: Sendable>: Sendable {
    private enum State {
        case pending
        case waiting(CheckedContinuation<T, any Error>)
        case resolvedEarly(Result<T, any Error>)
        case done
    }

    private let state = Mutex(State.pending)

    public init() {}

    /// Offers `result`, which is dropped unless it is the first.
    public func resolve(_ result: Result<T, any Error>) {
        let continuation: CheckedContinuation<T, any Error>? = self.state.withLock { state in
            switch state {
            case .pending:
                state = .resolvedEarly(result)
                return nil
            case .waiting(let continuation):
                state = .done
                return continuation
            case .resolvedEarly, .done:
                return nil
            }
        }
        continuation?.resume(with: result)
    }

    /// Waits for the first result; a cancelled caller gets `CancellationError` at once.
    public func wait() async throws -> T {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                let early: Result<T, any Error>? = self.state.withLock { state in
                    switch state {
                    case .pending:
                        state = .waiting(continuation)
                        return nil
                    case .resolvedEarly(let result):
                        state = .done
                        return result
                    case .waiting, .done:
                        preconditionFailure("FirstResult.wait() called twice")
                    }
                }
                if let early { continuation.resume(with: early) }
            }
        } onCancel: {
            self.resolve(.failure(CancellationError()))
        }
    }
}
