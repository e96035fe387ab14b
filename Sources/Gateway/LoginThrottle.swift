import Synchronization

/// Slows password guessing at `POST /api/login`: after `failuresPerName` failed logins for one account name, or
/// `failuresPerAddress` from one client address, further attempts are refused (`429 login_throttled` with
/// `Retry-After`) for a backoff that starts at `initialBackoff` and doubles with every further failure up to
/// `maxBackoff`. A successful login resets its name. Unknown names are throttled exactly like real ones, so the
/// throttle tells nothing about which names exist.
///
/// Attempts are counted when they start, not only when bcrypt has answered: a thousand guesses sent at once get
/// at most `failuresPerName` password checks before the first backoff, and afterwards one check per backoff.
/// Memory is bounded: names and addresses each keep at most `capacity` entries (least recently used forgotten).
public final class LoginThrottle: Sendable {
    public struct Configuration: Sendable, Equatable {
        /// Failures of one name before its logins are throttled; 0: names are not throttled.
        public var failuresPerName: Int = 5
        /// Failures from one client address before its logins are throttled; 0: addresses are not throttled.
        public var failuresPerAddress: Int = 30
        /// The first backoff; each further failure doubles it.
        public var initialBackoff: Duration = .seconds(1)
        public var maxBackoff: Duration = .seconds(300)
        /// Entries kept per kind (names, addresses).
        public var capacity: Int = 65_536
        /// Failures are forgotten after this long without another (a typo a week never adds up to a lockout).
        public var forgetAfter: Duration = .seconds(900)

        public init() {}

        public var isEnabled: Bool { failuresPerName > 0 || failuresPerAddress > 0 }
    }

    public enum Decision: Sendable, Equatable {
        /// Check the password, then report ``finish(_:succeeded:now:)``.
        case allowed(Attempt)
        /// Refuse without checking; the client may try again after this long.
        case throttled(retryAfter: Duration)
    }

    /// An admitted attempt, to be finished with its outcome.
    public struct Attempt: Sendable, Equatable {
        let name: String?
        let address: String?
    }

    private let state: Mutex<StateMachine>

    public init(configuration: Configuration = .init()) {
        self.state = Mutex(StateMachine(configuration: configuration))
    }

    /// Whether a login for `name` from `address` (nil: unknown, e.g. a test client) may check its password now.
    public func begin(name: String, address: String?, now: ContinuousClock.Instant = .now) -> Decision {
        state.withLock { $0.begin(name: name, address: address, now: now) }
    }

    public func finish(_ attempt: Attempt, succeeded: Bool, now: ContinuousClock.Instant = .now) {
        state.withLock { $0.finish(attempt, succeeded: succeeded, now: now) }
    }

    /// An admitted attempt that ended without an answer (the store failed): counted neither way.
    public func abandon(_ attempt: Attempt) {
        state.withLock { $0.abandon(attempt) }
    }

    /// Entries held (names, addresses): bounded by the configured capacity.
    public var entryCounts: (names: Int, addresses: Int) {
        state.withLock { ($0.names.count, $0.addresses.count) }
    }
}

extension LoginThrottle {
    /// The throttle's state, tested alone with injected instants.
    struct StateMachine {
        struct Entry {
            var failures = 0
            /// Attempts admitted and not finished yet.
            var inFlight = 0
            var blockedUntil: ContinuousClock.Instant?
            var lastFailure: ContinuousClock.Instant?
        }

        let configuration: Configuration
        var names: BoundedLRU<String, Entry>
        var addresses: BoundedLRU<String, Entry>

        init(configuration: Configuration) {
            self.configuration = configuration
            self.names = BoundedLRU(capacity: max(1, configuration.capacity))
            self.addresses = BoundedLRU(capacity: max(1, configuration.capacity))
        }

        /// Names compare case-insensitively and are cut to the longest valid name, so that variants of one name
        /// share one entry and a huge name costs no more memory than a valid one.
        static func nameKey(_ name: String) -> String {
            String(decoding: name.lowercased().utf8.prefix(64), as: UTF8.self)
        }

        mutating func begin(name: String, address: String?, now: ContinuousClock.Instant) -> Decision {
            let nameKey = configuration.failuresPerName > 0 ? Self.nameKey(name) : nil
            let addressKey = configuration.failuresPerAddress > 0 ? address : nil
            var wait: Duration = .zero
            if let nameKey {
                wait = max(wait, Self.wait(names.value(for: nameKey), limit: configuration.failuresPerName, now: now, forgetAfter: configuration.forgetAfter))
            }
            if let addressKey {
                wait = max(wait, Self.wait(addresses.value(for: addressKey), limit: configuration.failuresPerAddress, now: now, forgetAfter: configuration.forgetAfter))
            }
            if wait > .zero { return .throttled(retryAfter: wait) }
            if let nameKey { Self.start(&names, nameKey, now: now, forgetAfter: configuration.forgetAfter) }
            if let addressKey { Self.start(&addresses, addressKey, now: now, forgetAfter: configuration.forgetAfter) }
            return .allowed(Attempt(name: nameKey, address: addressKey))
        }

        mutating func finish(_ attempt: Attempt, succeeded: Bool, now: ContinuousClock.Instant) {
            if let name = attempt.name {
                if succeeded {
                    names.remove(name)
                } else {
                    Self.fail(&names, name, limit: configuration.failuresPerName, now: now, configuration: configuration)
                }
            }
            if let address = attempt.address {
                // A success does not clear its address: one valid account must not reset the count of guesses
                // against other names from the same address. Its failures are forgotten after `forgetAfter`.
                if succeeded {
                    Self.release(&addresses, address)
                } else {
                    Self.fail(&addresses, address, limit: configuration.failuresPerAddress, now: now, configuration: configuration)
                }
            }
        }

        mutating func abandon(_ attempt: Attempt) {
            for (key, isName) in [(attempt.name, true), (attempt.address, false)] {
                guard let key else { continue }
                if isName {
                    Self.release(&names, key)
                } else {
                    Self.release(&addresses, key)
                }
            }
        }

        static func release(_ lru: inout BoundedLRU<String, Entry>, _ key: String) {
            guard var entry = lru.value(for: key) else { return }
            entry.inFlight = max(0, entry.inFlight - 1)
            lru.set(entry, for: key)
        }

        /// How long an attempt must wait: while blocked, the rest of the backoff; below the limit, nothing unless
        /// the attempts in flight would reach it; past the limit, one attempt at a time.
        static func wait(_ entry: Entry?, limit: Int, now: ContinuousClock.Instant, forgetAfter: Duration) -> Duration {
            guard let entry, !isStale(entry, now: now, forgetAfter: forgetAfter) else { return .zero }
            if let blockedUntil = entry.blockedUntil, blockedUntil > now { return now.duration(to: blockedUntil) }
            if entry.failures < limit {
                // Attempts being checked count already: a thousand at once get `limit` checks, not a thousand.
                return entry.failures + entry.inFlight < limit ? .zero : .seconds(1)
            }
            return entry.inFlight == 0 ? .zero : .seconds(1)
        }

        static func isStale(_ entry: Entry, now: ContinuousClock.Instant, forgetAfter: Duration) -> Bool {
            guard entry.inFlight == 0, let last = entry.lastFailure else { return false }
            if let blockedUntil = entry.blockedUntil, blockedUntil > now { return false }
            return last.duration(to: now) > forgetAfter
        }

        static func start(_ lru: inout BoundedLRU<String, Entry>, _ key: String, now: ContinuousClock.Instant, forgetAfter: Duration) {
            var entry = lru.value(for: key) ?? Entry()
            if isStale(entry, now: now, forgetAfter: forgetAfter) { entry = Entry() }
            entry.inFlight += 1
            lru.set(entry, for: key)
        }

        static func fail(
            _ lru: inout BoundedLRU<String, Entry>, _ key: String, limit: Int, now: ContinuousClock.Instant, configuration: Configuration
        ) {
            // Evicted while in flight: start again from this failure.
            var entry = lru.value(for: key) ?? Entry(inFlight: 1)
            entry.inFlight = max(0, entry.inFlight - 1)
            entry.failures += 1
            entry.lastFailure = now
            if entry.failures >= limit {
                entry.blockedUntil = now + configuration.backoff(afterFailures: entry.failures, limit: limit)
            }
            lru.set(entry, for: key)
        }

    }
}

extension LoginThrottle.Configuration {
    /// `initialBackoff` at the limit, doubling with each failure past it, at most `maxBackoff`.
    func backoff(afterFailures failures: Int, limit: Int) -> Duration {
        let doublings = min(max(0, failures - limit), 30)
        return min(initialBackoff * (1 << doublings), maxBackoff)
    }
}
