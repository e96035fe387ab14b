/// Kafka's range assignor: per topic, partitions in numeric order split over the subscribed members in
/// lexicographic member-id order; the first `partitions % members` members get one extra. Every member appears in
/// the result (possibly with nothing), because Tansu rejects a leader assignment that leaves a member out.
enum RangeAssignor {
    static func assign(
        subscriptions: [String: [String]], partitionCounts: [String: Int]
    ) -> [String: [String: [Int32]]] {
        var result: [String: [String: [Int32]]] = [:]
        for member in subscriptions.keys { result[member] = [:] }
        let topics = Set(subscriptions.values.flatMap { $0 }).sorted()
        for topic in topics {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let members = subscriptions.filter { $0.value.contains(topic) }.map(\.key).sorted()
            guard !members.isEmpty else { continue }
            let per = count / members.count
            let extra = count % members.count
            var next = 0
            for (i, member) in members.enumerated() {
                let n = per + (i < extra ? 1 : 0)
                if n > 0 {
                    result[member, default: [:]][topic] = (next..<(next + n)).map { Int32($0) }
                }
                next += n
            }
        }
        return result
    }
}
