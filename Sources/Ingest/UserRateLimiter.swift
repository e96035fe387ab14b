import Synchronization

/// Per-user token buckets for `POST /api/emojis`: each user may send `rate` reactions a second, in bursts of up
/// to `burst`. A batch is admitted whole or not at all. Memory stays bounded: idle users' buckets (full again)
/// are forgotten once more than `maxUsers` are tracked.
public final class UserRateLimiter: Sendable {
    struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    let rate: Double
    let burst: Double
    let maxUsers: Int
    private let buckets = Mutex<[String: Bucket]>([:])

    public init(rate: Double, burst: Int, maxUsers: Int = 100_000) {
        precondition(rate > 0 && burst > 0, "rate and burst must be positive")
        self.rate = rate
        self.burst = Double(burst)
        self.maxUsers = maxUsers
    }

    public enum Decision: Sendable, Equatable {
        case admitted
        /// Retry after this long (the slowest user's wait).
        case wait(Duration)
        /// One user has more reactions in the batch than a burst allows: it can never be admitted.
        case exceedsBurst(user: String, limit: Int)
    }

    /// Takes `count` tokens from each user's bucket if every user has enough; otherwise takes none.
    public func admit(_ counts: [String: Int], now: ContinuousClock.Instant = .now) -> Decision {
        if let (user, _) = counts.first(where: { Double($0.value) > burst }) {
            return .exceedsBurst(user: user, limit: Int(burst))
        }
        return buckets.withLock { buckets in
            var wait: Double = 0
            var refilled: [String: Bucket] = [:]
            for (user, count) in counts {
                var bucket = buckets[user] ?? Bucket(tokens: burst, updated: now)
                let elapsed = now - bucket.updated
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                bucket.tokens = min(burst, bucket.tokens + seconds * rate)
                bucket.updated = now
                if Double(count) > bucket.tokens {
                    wait = max(wait, (Double(count) - bucket.tokens) / rate)
                }
                refilled[user] = bucket
            }
            if wait > 0 { return .wait(.milliseconds(Int64((wait * 1000).rounded(.up)))) }
            for (user, var bucket) in refilled {
                bucket.tokens -= Double(counts[user] ?? 0)
                buckets[user] = bucket
            }
            if buckets.count > maxUsers {
                let fullAfter = burst / rate
                buckets = buckets.filter { entry in
                    let idle = now - entry.value.updated
                    return Double(idle.components.seconds) < fullAfter
                }
            }
            return .admitted
        }
    }
}
