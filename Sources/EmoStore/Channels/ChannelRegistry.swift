import Foundation
import Synchronization

/// The channels a process lets reactions and viewers use, cached in memory over the store's registry.
///
/// - Open (the default): every valid name may be used; a name seen for the first time is registered in the store
///   (one statement per batch that brings new names, none for names already cached).
/// - Closed (`--channels-closed`): only registered channels are allowed. A name not in the cache is looked up in
///   the store once (so `emostream channels add` takes effect at once, in every process); a name found missing is
///   remembered as unknown for `negativeTTL`, so a flood of bad requests does not become a flood of queries. The
///   whole cache is reloaded every `refreshInterval` (the request that notices pays one query), which is how a
///   `channels remove` reaches running processes.
///
/// The cache holds at most `capacity` names; past that an arbitrary name is evicted (and looked up again on use).
public final class ChannelRegistry: Sendable {
    public struct Configuration: Sendable {
        public var closed: Bool
        public var capacity: Int
        public var refreshInterval: Duration
        public var negativeTTL: Duration

        public init(
            closed: Bool = false, capacity: Int = 100_000, refreshInterval: Duration = .seconds(5),
            negativeTTL: Duration = .seconds(1)
        ) {
            self.closed = closed
            self.capacity = capacity
            self.refreshInterval = refreshInterval
            self.negativeTTL = negativeTTL
        }
    }

    struct State {
        var known: Set<String> = []
        /// Closed mode: names found missing in the store, and when.
        var unknown: [String: ContinuousClock.Instant] = [:]
        var refreshedAt: ContinuousClock.Instant?
    }

    public let configuration: Configuration
    let store: any ChannelStore
    private let state = Mutex(State())

    public init(store: any ChannelStore, configuration: Configuration = .init()) {
        self.store = store
        self.configuration = configuration
    }

    public var isClosed: Bool { configuration.closed }

    /// Checks the distinct channels of one request, in order of first use. Returns the first one that is not
    /// allowed (closed registry only), or nil when every one is; in an open registry, registers the new ones.
    public func admit(_ channels: [String]) async throws -> String? {
        let now = ContinuousClock.now
        let (missing, refresh) = state.withLock { state -> ([String], Bool) in
            let missing = channels.filter { !state.known.contains($0) }
            guard configuration.closed else { return (missing, false) }
            let refresh = state.refreshedAt.map { now - $0 >= configuration.refreshInterval } ?? true
            if refresh { state.refreshedAt = now }  // one request refreshes; the others go on with the cache
            return (missing, refresh)
        }
        if refresh {
            // A store that cannot be read right now leaves the cache as it is; the next interval tries again.
            try? await reload()
            return try await admit(channels)
        }
        guard !missing.isEmpty else { return nil }
        if !configuration.closed {
            try await store.ensureChannels(missing, now: Date())
            remember(missing)
            return nil
        }
        for name in missing {
            let recentlyUnknown = state.withLock { state in
                state.unknown[name].map { now - $0 < configuration.negativeTTL } ?? false
            }
            if recentlyUnknown { return name }
            if try await store.channel(named: name) != nil {
                remember([name])
            } else {
                state.withLock { state in
                    if state.unknown.count >= configuration.capacity { state.unknown.removeAll() }
                    state.unknown[name] = now
                }
                return name
            }
        }
        return nil
    }

    /// Whether viewers may watch `channel`: always in an open registry (a channel exists once reactions use it).
    public func allows(_ channel: String) async throws -> Bool {
        guard configuration.closed else { return true }
        return try await admit([channel]) == nil
    }

    /// Reloads the cache from the store.
    public func reload() async throws {
        let names = try await store.listChannels().prefix(configuration.capacity).map(\.name)
        state.withLock { state in
            state.known = Set(names)
            state.unknown.removeAll()
            state.refreshedAt = .now
        }
    }

    private func remember(_ names: [String]) {
        state.withLock { state in
            for name in names {
                state.unknown[name] = nil
                if state.known.count >= configuration.capacity, let evicted = state.known.first {
                    state.known.remove(evicted)
                }
                state.known.insert(name)
            }
        }
    }
}
