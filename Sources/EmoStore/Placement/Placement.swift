import Foundation

/// Pure helpers shared by both stores, so both place viewers by exactly the same rule.
enum Placement {
    /// The node to place the next viewer on: among live nodes with room, the lowest load ratio
    /// `viewers / capacity` (compared exactly, by cross-multiplication), ties broken by name.
    static func choose(_ candidates: [NodeStatus]) -> NodeStatus? {
        candidates
            .filter { $0.isLive && $0.capacity > 0 && $0.viewers < $0.capacity }
            .min { lhs, rhs in
                let l = lhs.viewers * rhs.capacity
                let r = rhs.viewers * lhs.capacity
                return l != r ? l < r : lhs.name < rhs.name
            }
    }

    /// A new unguessable session / ticket id: 128 random bits as 32 lowercase hex digits.
    static func newSessionID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

extension Date {
    /// Milliseconds since 1970, rounded to the nearest; the precision both stores keep (rounding, not
    /// truncating, so a value decoded from PostgreSQL's microseconds maps back to the same millisecond).
    var emoMillis: Int64 { Int64((self.timeIntervalSince1970 * 1000).rounded()) }

    init(emoMillis: Int64) {
        self.init(timeIntervalSince1970: Double(emoMillis) / 1000)
    }

    /// The same instant at millisecond precision.
    var emoTruncated: Date { Date(emoMillis: self.emoMillis) }
}

extension Duration {
    var emoTimeInterval: TimeInterval {
        let (seconds, attoseconds) = self.components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
