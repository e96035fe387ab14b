/// An account tier; it caps the number of simultaneous live sessions (devices) of a user.
public enum Tier: Int, Sendable, Codable, CaseIterable, Hashable {
    case one = 1
    case two = 2
    case three = 3

    /// The most live sessions a user of this tier may hold at once, across all nodes.
    public var maxDevices: Int {
        switch self {
        case .one: 5
        case .two: 2
        case .three: 1
        }
    }
}
