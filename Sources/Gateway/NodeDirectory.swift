import Node
import Synchronization

/// The cluster nodes a gateway knows, for `GET /api/nodes`. In `emostream up` the nodes run in-process and
/// register their hub once their server listens.
public final class NodeDirectory: Sendable {
    public struct Entry: Sendable {
        public var name: String
        public var wsURL: String
        public var sseURL: String
        public var capacity: Int
        public var hub: BurstHub
    }

    private let entries = Mutex<[Entry]>([])

    public init() {}

    @discardableResult
    public func register(name: String, host: String, port: Int, capacity: Int, hub: BurstHub) -> Entry {
        let entry = Entry(
            name: name, wsURL: "ws://\(host):\(port)/ws", sseURL: "http://\(host):\(port)/events", capacity: capacity,
            hub: hub)
        entries.withLock { entries in
            entries.removeAll { $0.name == name }
            entries.append(entry)
            entries.sort { $0.name.localizedStandardCompare($1.name) == .orderedAscending }
        }
        return entry
    }

    public var nodes: [Entry] { entries.withLock { $0 } }
}
