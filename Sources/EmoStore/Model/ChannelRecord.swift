import Foundation

/// A registered channel (a live event viewers watch and react to).
public struct ChannelRecord: Sendable, Equatable, Hashable {
    public var name: String
    /// Stored with millisecond precision.
    public var createdAt: Date

    public init(name: String, createdAt: Date) {
        self.name = name
        self.createdAt = createdAt
    }
}
