import Foundation

/// A registered node and its load at a given time.
public struct NodeStatus: Sendable, Equatable, Hashable {
    public var name: String
    public var wsURL: String
    public var sseURL: String
    public var capacity: Int
    /// Live sessions held on the node (reserved and active).
    public var viewers: Int
    public var lastHeartbeat: Date
    /// Whether the node's heartbeat is within the TTL the status was computed with.
    public var isLive: Bool

    public init(name: String, wsURL: String, sseURL: String, capacity: Int, viewers: Int, lastHeartbeat: Date, isLive: Bool) {
        self.name = name
        self.wsURL = wsURL
        self.sseURL = sseURL
        self.capacity = capacity
        self.viewers = viewers
        self.lastHeartbeat = lastHeartbeat
        self.isLive = isLive
    }

    /// `viewers / capacity`; infinite for a node without capacity.
    public var loadRatio: Double {
        self.capacity > 0 ? Double(self.viewers) / Double(self.capacity) : .infinity
    }

    /// Whether one more session fits.
    public var hasRoom: Bool { self.viewers < self.capacity }
}
