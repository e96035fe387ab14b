/// The idempotency keys of one partition's recent records: what makes a retried ingest request count once.
///
/// The rule, a function of the log alone (so the processors, whoever owns a partition, and the audit agree): a record
/// carrying key K is a **repeat**, and counts nothing, when an earlier record of the same partition carried K and was
/// stamped at most ``horizonMillis`` before it. Ingest sends every request with an `Idempotency-Key` to the
/// partition of that key, so a client that retries a request whose answer it did not get (a `503 log_unavailable`
/// after the broker took the record but its acknowledgement was lost, a dropped connection) within the horizon adds
/// its reactions once.
///
/// Bounded: entries older than the horizon plus ``slackMillis`` (room for records stamped out of order) are dropped
/// as records arrive, and beyond ``capacity`` entries the oldest are dropped and counted in ``evicted``.
public struct RequestKeyHistory: Sendable {
    /// How long after a keyed record a record with the same key is a repeat.
    public static let horizonMillis: EpochMillis = 60_000
    /// How far out of timestamp order records of one partition may arrive and still be judged as if in order.
    public static let slackMillis: EpochMillis = 60_000
    /// Entries kept per partition at most.
    public static let defaultCapacity = 250_000

    public let capacity: Int

    struct Entry: Sendable {
        var key: [UInt8]
        var offset: Int64
        var timestamp: EpochMillis
    }

    /// key → the latest record that carried it.
    private var latest: [[UInt8]: (offset: Int64, timestamp: EpochMillis)] = [:]
    /// Every remembered record in offset order; `head` is the first still held.
    private var order: [Entry] = []
    private var head = 0
    private var newest: EpochMillis = .min
    /// Entries dropped because ``capacity`` was reached (a repeat of one of them would count again).
    public private(set) var evicted = 0

    public init(capacity: Int = RequestKeyHistory.defaultCapacity) {
        self.capacity = max(1, capacity)
    }

    /// Remembers the keyed record at `offset`; returns whether it repeats an earlier one (see the rule above).
    /// Records must be given in offset order.
    public mutating func record(_ key: [UInt8], offset: Int64, timestamp: EpochMillis) -> Bool {
        newest = max(newest, timestamp)
        let cutoff = newest - Self.horizonMillis - Self.slackMillis
        while head < order.count, order[head].timestamp < cutoff {
            dropHead()
        }
        let repeats = latest[key].map { $0.timestamp >= timestamp - Self.horizonMillis } ?? false
        latest[key] = (offset, timestamp)
        order.append(Entry(key: key, offset: offset, timestamp: timestamp))
        while order.count - head > capacity {
            dropHead()
            evicted += 1
        }
        if head > 1024 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
        return repeats
    }

    private mutating func dropHead() {
        let entry = order[head]
        if latest[entry.key]?.offset == entry.offset { latest[entry.key] = nil }
        head += 1
    }

    /// The offset of the oldest record a later record may still repeat: a reader that takes the partition over must
    /// read from here (learning keys) to judge later records as this history does. nil: nothing is remembered.
    public var oldestNeeded: Int64? {
        head < order.count ? order[head].offset : nil
    }

    /// Records remembered.
    public var count: Int { order.count - head }
}
