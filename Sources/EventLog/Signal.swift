import Synchronization

/// A one-shot wake-up that a task can await with a deadline; signalling before the wait is not lost.
final class Signal: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<Void, Never>)
        case fired
    }

    private let state = Mutex(State.idle)

    func fire() {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            switch state {
            case .idle:
                state = .fired
                return nil
            case .waiting(let continuation):
                state = .fired
                return continuation
            case .fired:
                return nil
            }
        }
        continuation?.resume()
    }

    /// Waits until fired or cancelled.
    func wait() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    switch state {
                    case .idle:
                        state = .waiting(continuation)
                        return false
                    case .waiting:
                        preconditionFailure("Signal awaited twice")
                    case .fired:
                        return true
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            self.fire()
        }
    }

    /// Waits until fired, cancelled or `deadline` passes.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.wait() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }
}
