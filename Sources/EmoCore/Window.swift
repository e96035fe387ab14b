/// Tumbling windows of a fixed length, aligned to the Unix epoch.
public struct WindowSpec: Sendable, Hashable {
    public let lengthMillis: EpochMillis

    public init(lengthMillis: EpochMillis) {
        precondition(lengthMillis > 0, "window length must be positive")
        self.lengthMillis = lengthMillis
    }

    /// Start of the window that holds `timestamp`.
    public func start(of timestamp: EpochMillis) -> EpochMillis {
        timestamp.floorDiv(lengthMillis) * lengthMillis
    }

    /// End (exclusive) of the window that holds `timestamp`.
    public func end(of timestamp: EpochMillis) -> EpochMillis {
        start(of: timestamp) + lengthMillis
    }
}

/// The scale-down rule: hundreds of reactions become a few emojis in the swarm.
public struct ScaleDown: Sendable, Hashable {
    public enum Mode: String, Sendable, CaseIterable, Codable {
        /// `ceil(count / scale)`: every emoji that was sent at least once shows up.
        case ceil
        /// `floor(count / scale)`: the original rule; types with fewer than `scale` reactions are dropped.
        case floor
    }

    public let scale: Int
    public let mode: Mode

    public init(scale: Int = 100, mode: Mode = .ceil) {
        precondition(scale > 0, "scale must be positive")
        self.scale = scale
        self.mode = mode
    }

    public func scaled(_ count: Int) -> Int {
        switch mode {
        case .ceil: return (count + scale - 1) / scale
        case .floor: return count / scale
        }
    }
}
