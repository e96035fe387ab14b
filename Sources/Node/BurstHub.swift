import DequeModule
import EmoCore
import Foundation
import Metrics
import NIOCore
import Synchronization

/// A burst as sent to viewers: encoded once (by the publisher), shared by every viewer.
public struct BurstFrame: Sendable {
    public let channel: String
    public let seq: UInt64
    /// The JSON text of the burst, as a WebSocket text frame carries it.
    public let payload: ByteBuffer
    /// The same as one server-sent event (`id: SEQ`, `data: JSON`), built once for every SSE viewer.
    public let sseEvent: ByteBuffer

    public init(channel: String, seq: UInt64, payload: ByteBuffer) {
        self.channel = channel
        self.seq = seq
        self.payload = payload
        var event = ByteBuffer(string: "id: \(seq)\ndata: ")
        event.writeImmutableBuffer(payload)
        event.writeString("\n\n")
        self.sseEvent = event
    }

    /// The JSON text of the burst.
    public var text: String { String(buffer: payload) }
}

/// What a viewer's connection writes next.
public enum ViewerEvent: Sendable {
    case burst(BurstFrame)
    /// A message of the node's own, e.g. the `hello` after a viewer switched channel, or an error.
    case message(String)
    /// Nothing to say: lets idle SSE connections (and the proxies between) see traffic, and detects dead peers.
    case keepalive
}

/// Fans bursts out to the viewers of one node.
///
/// Each viewer has a small bounded buffer that keeps the newest frames: publishing never waits for a viewer, a
/// viewer that stops reading loses its oldest frames (counted as drops), and one that makes no progress for
/// `stallTimeout` while frames are being dropped is disconnected. Recent bursts are kept in a ring per channel
/// so that a reconnecting viewer can ask for those after the last `seq` it saw.
public final class BurstHub: Sendable {
    public struct Configuration: Sendable {
        public var node: String
        /// Bursts kept per channel for `?after=SEQ` replays.
        public var ringCapacity: Int
        /// Channels whose rings are kept: past this, the ring of a channel nobody here watches is dropped (its
        /// `?after=` replays start over), so that channels created by anyone cannot grow a node without bound.
        public var maxChannelRings: Int = 10_000
        /// Frames buffered per viewer.
        public var viewerBuffer: Int
        public var stallTimeout: Duration

        public init(node: String, ringCapacity: Int = 64, viewerBuffer: Int = 16, stallTimeout: Duration = .seconds(10)) {
            self.node = node
            self.ringCapacity = ringCapacity
            self.viewerBuffer = viewerBuffer
            self.stallTimeout = stallTimeout
        }
    }

    public let configuration: Configuration
    private let state = Mutex(HubState())
    private let viewersGauge: Gauge
    private let framesSent: Counter
    private let framesDropped: Counter
    private let viewersDisconnected: Counter

    public init(configuration: Configuration, metrics: any MetricsFactory) {
        self.configuration = configuration
        let dimensions = [("node", configuration.node)]
        self.viewersGauge = Gauge(label: "emostream_viewers_connected", dimensions: dimensions, factory: metrics)
        self.framesSent = Counter(label: "emostream_bursts_sent_total", dimensions: dimensions, factory: metrics)
        self.framesDropped = Counter(label: "emostream_viewer_drops_total", dimensions: dimensions, factory: metrics)
        self.viewersDisconnected = Counter(
            label: "emostream_viewers_stalled_total", dimensions: dimensions, factory: metrics)
        viewersGauge.record(0)
    }

    /// Registers a viewer of `channel`. Frames with `seq > after` still in the ring come back as `replay`; every
    /// later burst arrives on `frames` (no gap, no duplicate between the two).
    public func subscribe(channel: String, after: UInt64?) -> ViewerSubscription {
        let (frames, continuation) = AsyncStream.makeStream(
            of: ViewerEvent.self, bufferingPolicy: .bufferingNewest(configuration.viewerBuffer))
        let (closed, closeContinuation) = AsyncStream.makeStream(of: Void.self)
        let progress = ViewerProgress()
        let (id, lastSeq, replay, count) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.viewers[id] = ViewerEntry(
                channel: channel, frames: continuation, closed: closeContinuation, progress: progress)
            state.members[channel, default: []].insert(id)
            let ring = state.rings[channel] ?? []
            let replay = after.map { after in ring.filter { $0.seq > after } } ?? []
            return (id, state.lastSeq[channel] ?? 0, replay, state.viewers.count)
        }
        viewersGauge.record(count)
        return ViewerSubscription(
            hub: self, id: id, channel: channel, lastSeq: lastSeq, replay: replay, frames: frames, closed: closed,
            progress: progress)
    }

    /// Moves a viewer to another channel. In one step, its stream gets `hello(seq)` (built from the channel's last
    /// `seq`), then the bursts after `after` still in the ring (at most what its buffer holds), then only bursts of
    /// the new channel: frames of the old channel already queued come before the hello, none after.
    /// Returns false when the viewer is gone.
    @discardableResult
    func move(_ id: UInt64, to channel: String, after: UInt64?, hello: (UInt64) -> String) -> Bool {
        let replayLimit = max(0, configuration.viewerBuffer - 1)
        return state.withLock { state in
            guard let entry = state.viewers[id] else { return false }
            state.remove(member: id, of: entry.channel)
            state.viewers[id]!.channel = channel
            state.members[channel, default: []].insert(id)
            entry.frames.yield(.message(hello(state.lastSeq[channel] ?? 0)))
            if let after {
                let replay = (state.rings[channel] ?? []).filter { $0.seq > after }.suffix(replayLimit)
                for frame in replay { entry.frames.yield(.burst(frame)) }
            }
            return true
        }
    }

    /// Queues a message for one viewer (dropped like a burst when its buffer is full).
    func send(_ id: UInt64, text: String) {
        state.withLock { state in
            _ = state.viewers[id]?.frames.yield(.message(text))
        }
    }

    func unsubscribe(_ id: UInt64) {
        let (entry, count) = state.withLock { state in
            let entry = state.viewers.removeValue(forKey: id)
            if let entry { state.remove(member: id, of: entry.channel) }
            return (entry, state.viewers.count)
        }
        entry?.frames.finish()
        entry?.closed.finish()
        viewersGauge.record(count)
    }

    /// Encodes a burst's frame and publishes it (see ``publish(_:)-(BurstFrame)``).
    public func publish(_ burst: Burst) {
        publish(BurstFrame(channel: burst.channel, seq: burst.seq, payload: ByteBuffer(string: burst.jsonText())))
    }

    /// Sends a burst to every viewer of its channel without waiting for any of them.
    public func publish(_ frame: BurstFrame) {
        let now = ContinuousClock.now
        let stallTimeout = configuration.stallTimeout
        let ringCapacity = configuration.ringCapacity
        let (sent, dropped, stalled) = state.withLock { state -> (Int, Int, [ViewerEntry]) in
            if let last = state.lastSeq[frame.channel], frame.seq <= last {
                return (0, 0, [])  // already seen (a node re-reading the log after a restart)
            }
            state.lastSeq[frame.channel] = frame.seq
            state.rings[frame.channel, default: []].append(frame)
            if state.rings.count > configuration.maxChannelRings,
                let idle = state.rings.keys.first(where: { $0 != frame.channel && state.members[$0] == nil })
            {
                state.rings[idle] = nil
            }
            if state.rings[frame.channel]!.count > ringCapacity {
                state.rings[frame.channel]!.removeFirst()
            }
            var sent = 0
            var dropped = 0
            var stalled: [UInt64] = []
            for id in state.members[frame.channel] ?? [] {
                guard let entry = state.viewers[id] else { continue }
                switch entry.frames.yield(.burst(frame)) {
                case .enqueued:
                    sent += 1
                case .dropped:
                    sent += 1
                    dropped += 1
                    if state.viewers[id]!.isStalled(now: now, timeout: stallTimeout) {
                        stalled.append(id)
                    }
                case .terminated:
                    break
                @unknown default:
                    break
                }
            }
            let removed = stalled.compactMap { state.viewers.removeValue(forKey: $0) }
            for id in stalled { state.remove(member: id, of: frame.channel) }
            return (sent, dropped, removed)
        }
        framesSent.increment(by: sent)
        if dropped > 0 { framesDropped.increment(by: dropped) }
        for entry in stalled {
            entry.frames.finish()
            entry.closed.finish()
        }
        if !stalled.isEmpty {
            viewersDisconnected.increment(by: stalled.count)
            viewersGauge.record(state.withLock { $0.viewers.count })
        }
    }

    /// Disconnects every viewer (graceful shutdown: their connections end, so the server can stop), after sending
    /// each `farewell` when given.
    public func closeAll(farewell: String? = nil) {
        let entries = state.withLock { state in
            defer {
                state.viewers.removeAll()
                state.members.removeAll()
            }
            return Array(state.viewers.values)
        }
        for entry in entries {
            if let farewell { entry.frames.yield(.message(farewell)) }
            entry.frames.finish()
            if farewell == nil { entry.closed.finish() }
        }
        viewersGauge.record(0)
        if farewell != nil {
            // The farewell goes out before the connection ends: each writer ends after its last frame, and only a
            // second later are the connections still open closed.
            Task {
                try? await Task.sleep(for: .seconds(1))
                for entry in entries { entry.closed.finish() }
            }
        }
    }

    /// Queues a keepalive for every viewer (dropped silently for viewers whose buffer is full).
    public func keepalive() {
        state.withLock { state in
            for entry in state.viewers.values { entry.frames.yield(.keepalive) }
        }
    }

    public var viewerCount: Int { state.withLock { $0.viewers.count } }

    /// Viewers per channel (channels without viewers are absent).
    public var viewersByChannel: [String: Int] { state.withLock { $0.members.mapValues(\.count) } }

    public func lastSeq(channel: String) -> UInt64 { state.withLock { $0.lastSeq[channel] ?? 0 } }
}

struct HubState {
    var nextID: UInt64 = 1
    var viewers: [UInt64: ViewerEntry] = [:]
    /// channel → its viewers, so that a burst costs a look at its own channel's viewers only.
    var members: [String: Set<UInt64>] = [:]
    var rings: [String: Deque<BurstFrame>] = [:]
    var lastSeq: [String: UInt64] = [:]

    mutating func remove(member id: UInt64, of channel: String) {
        members[channel]?.remove(id)
        if members[channel]?.isEmpty == true { members[channel] = nil }
    }
}

struct ViewerEntry {
    var channel: String
    let frames: AsyncStream<ViewerEvent>.Continuation
    let closed: AsyncStream<Void>.Continuation
    let progress: ViewerProgress
    var lastSeenProgress = 0
    var stalledSince: ContinuousClock.Instant?

    /// Called when a frame had to be dropped: stalled when the viewer wrote nothing for `timeout`.
    mutating func isStalled(now: ContinuousClock.Instant, timeout: Duration) -> Bool {
        let written = progress.written
        if written != lastSeenProgress || stalledSince == nil {
            lastSeenProgress = written
            stalledSince = now
            return false
        }
        return now - stalledSince! >= timeout
    }
}

/// Frames a viewer's connection has written, for stall detection.
final class ViewerProgress: Sendable {
    private let count = Atomic<Int>(0)
    var written: Int { count.load(ordering: .relaxed) }
    func advance() { count.add(1, ordering: .relaxed) }
}

/// One viewer's view of the hub: what to replay, then the live frames.
public struct ViewerSubscription: Sendable {
    let hub: BurstHub
    public let id: UInt64
    public let channel: String
    /// The channel's last `seq` when the viewer connected (for the `hello` message).
    public let lastSeq: UInt64
    public let replay: [BurstFrame]
    public let frames: AsyncStream<ViewerEvent>
    /// Finishes when the hub disconnects the viewer (stalled) or the viewer unsubscribes.
    public let closed: AsyncStream<Void>
    let progress: ViewerProgress

    /// Call after each frame written to the viewer's connection.
    public func didWrite() { progress.advance() }

    public func cancel() { hub.unsubscribe(id) }

    /// Moves this viewer to `channel` (see ``BurstHub/move(_:to:after:hello:)``).
    @discardableResult
    public func move(to channel: String, after: UInt64?, hello: (UInt64) -> String) -> Bool {
        hub.move(id, to: channel, after: after, hello: hello)
    }

    /// Queues a message of the node's own for this viewer.
    public func send(_ text: String) { hub.send(id, text: text) }
}
