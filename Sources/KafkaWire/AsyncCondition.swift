import Synchronization

/// A broadcast wake-up for tasks that wait for "something changed": read `version`, inspect shared state, and if
/// there is nothing to do, `wait(after:)` that version. A `notifyAll()` between the read and the wait makes the
/// wait return at once, so no wake-up is lost.
final class AsyncCondition: Sendable {
    private struct State {
        var version: UInt64 = 0
        var nextID = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    init() {}

    var version: UInt64 { state.withLock { $0.version } }

    func notifyAll() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.version &+= 1
            let list = Array(state.waiters.values)
            state.waiters = [:]
            return list
        }
        for w in waiters { w.resume() }
    }

    /// Returns when the version moves past `seen`, the deadline passes, or the task is cancelled.
    func wait(after seen: UInt64, deadline: ContinuousClock.Instant? = nil) async {
        guard let deadline else {
            await waitForChange(after: seen)
            return
        }
        if deadline <= .now { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitForChange(after: seen) }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after seen: UInt64) async {
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.version != seen || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}

/// Wall-clock milliseconds since the epoch.
@inline(__always)
func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif
