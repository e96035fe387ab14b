import AsyncHTTPClient
import EmoCore
import EmoStreamApp
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import Testing

/// Runs a real `emostream up` system in-process on free ports for the duration of `body`.
func withSystem(
    nodes: Int = 2, window: EpochMillis = 200, logger: Logger = quietLogger,
    _ body: (EmoStreamSystem.Endpoints) async throws -> Void,
    configure: (inout EmoStreamConfiguration) -> Void = { _ in }
) async throws {
    var configuration = EmoStreamConfiguration()
    configuration.gateway.server.port = 0
    configuration.nodes.basePort = 0
    configuration.nodes.count = nodes
    configuration.processor.window = WindowSpec(lengthMillis: window)
    configuration.dataDirectory = FileManager.default.temporaryDirectory
        .appendingPathComponent("emostream-test-\(UUID().uuidString)").path
    configuration.store.secret = testSecret
    configuration.gateway.bcryptCost = 4
    configure(&configuration)
    defer { try? FileManager.default.removeItem(atPath: configuration.dataDirectory) }
    let system = try await EmoStreamSystem.build(configuration: configuration, logger: logger)
    let services = system.serviceGroup(logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await system.run(services) }
        do {
            let endpoints = try await withTimeout { try await system.ready() }
            try await body(endpoints)
        } catch {
            await services.triggerGracefulShutdown()
            throw error
        }
        await services.triggerGracefulShutdown()
        try await group.waitForAll()
    }
}

let quietLogger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
let testSecret = "integration-test-secret-0123456789"

/// A registered, logged-in user of a running system.
struct Account: Sendable {
    let api: String
    let name: String
    let token: String

    /// Registers a new user with a unique name and logs in.
    static func make(_ api: String, tier: Int = 1, prefix: String = "user") async throws -> Account {
        let name = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        let password = "pw-\(name)-secret"
        let registered = try await request(
            .POST, api + "/api/register", body: #"{"name":"\#(name)","password":"\#(password)","tier":\#(tier)}"#)
        guard registered.status == 201 else { throw UnexpectedStatus(result: registered) }
        let login = try await request(.POST, api + "/api/login", body: #"{"name":"\#(name)","password":"\#(password)"}"#)
        guard login.status == 200, let token = login.json["token"] as? String else { throw UnexpectedStatus(result: login) }
        return Account(api: api, name: name, token: token)
    }

    /// `POST /api/connect` as this user.
    /// `replaces`: the ticket of a stream this connect replaces.
    func connect(channel: String? = nil, replaces: String? = nil) async throws -> HTTPResult {
        var body: [String: String] = [:]
        if let channel { body["channel"] = channel }
        if let replaces { body["replaces"] = replaces }
        let text = body.isEmpty ? nil : String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
        return try await request(
            .POST, api + "/api/connect", body: text, contentType: text == nil ? nil : "application/json", bearer: token)
    }

    /// A placement that must succeed: the node's name and its WebSocket and SSE URLs with the ticket.
    func place(channel: String? = nil) async throws -> Placement {
        let result = try await connect(channel: channel)
        guard result.status == 200, let node = result.json["node"] as? String, let ws = result.json["ws_url"] as? String,
            let sse = result.json["sse_url"] as? String, let ticket = result.json["ticket"] as? String
        else { throw UnexpectedStatus(result: result) }
        return Placement(node: node, wsURL: ws, sseURL: sse, ticket: ticket)
    }

    /// A device of this user placed and watching over SSE.
    struct SSEViewer: Sendable {
        let node: String
        let ticket: String
        let inbox: Inbox
        let task: Task<Void, any Error>
    }

    /// Places `devices` viewers of this user one after the other and connects each over SSE; each must first get
    /// the hello of the node it was placed on. The caller cancels their tasks.
    func watchOverSSE(devices: Int) async throws -> [SSEViewer] {
        var viewers: [SSEViewer] = []
        do {
            for _ in 0..<devices {
                let placement = try await place()
                let (inbox, task) = connectSSE(placement.sseURL)
                viewers.append(SSEViewer(node: placement.node, ticket: placement.ticket, inbox: inbox, task: task))
                let hello = try await inbox.next()
                #expect(hello.type == "hello" && hello.node == placement.node, "\(hello)")
            }
        } catch {
            viewers.forEach { $0.task.cancel() }
            throw error
        }
        return viewers
    }
}

struct Placement: Sendable {
    var node: String
    var wsURL: String
    var sseURL: String
    var ticket: String
}

struct UnexpectedStatus: Error {
    var result: HTTPResult
}

struct TimedOut: Error {}

struct ViewerClosed: Error {
    var reason: (any Error)?
}

/// Guards a wait on something that must happen so a broken build fails instead of hanging. Never used to order events.
func withTimeout<T: Sendable>(
    seconds: Int = 30, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw TimedOut()
        }
        let value = try await group.next()!
        group.cancelAll()
        return value
    }
}

/// A message from a node: `hello` or `burst`.
struct ViewerMessage: Decodable, Sendable {
    var type: String
    var node: String?
    var channel: String?
    var seq: UInt64
    var total: Int?
    var emojis: [EmojiCount]?
    var windowEnd: String?

    enum CodingKeys: String, CodingKey {
        case type, node, channel, seq, total, emojis
        case windowEnd = "window_end"
    }

    init(_ text: String) throws {
        self = try JSONDecoder().decode(ViewerMessage.self, from: Data(text.utf8))
    }
}

/// The messages a viewer receives, in order.
final class Inbox: Sendable {
    let stream: AsyncStream<String>
    let continuation: AsyncStream<String>.Continuation
    let failure = Mutex<(any Error)?>(nil)

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: String.self)
    }

    /// The next message as sent, undecoded.
    func nextText() async throws -> String {
        let stream = self.stream
        return try await withTimeout {
            var iterator = stream.makeAsyncIterator()
            guard let text = await iterator.next() else { throw ViewerClosed(reason: self.failure.withLock { $0 }) }
            return text
        }
    }

    func next() async throws -> ViewerMessage {
        let stream = self.stream
        let text = try await withTimeout {
            var iterator = stream.makeAsyncIterator()
            guard let text = await iterator.next() else { throw ViewerClosed(reason: self.failure.withLock { $0 }) }
            return text
        }
        return try ViewerMessage(text)
    }
}

/// A WebSocket viewer, using Hummingbird's WebSocket client.
func connectWebSocket(_ url: String) -> (Inbox, Task<Void, any Error>) {
    let inbox = Inbox()
    let task = Task {
        defer { inbox.continuation.finish() }
        do {
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: quietLogger) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { inbox.continuation.yield(text) }
                }
            }
        } catch {
            inbox.failure.withLock { $0 = error }
            throw error
        }
    }
    return (inbox, task)
}

/// An SSE viewer, using AsyncHTTPClient's streaming body.
func connectSSE(_ url: String, client: HTTPClient = .shared) -> (Inbox, Task<Void, any Error>) {
    let inbox = Inbox()
    let task = Task {
        defer { inbox.continuation.finish() }
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(3600))
        // Declared UTF-8, so that generic HTTP clients do not decode the emojis as Latin-1.
        let contentType = response.headers.first(name: "content-type")
        guard response.status != .ok || contentType == "text/event-stream; charset=utf-8" else {
            throw SSEContentTypeError(contentType: contentType)
        }
        var pending = ""
        for try await buffer in response.body {
            pending += String(buffer: buffer)
            while let range = pending.range(of: "\n") {
                let line = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                if line.hasPrefix("data: ") { inbox.continuation.yield(String(line.dropFirst(6))) }
            }
        }
    }
    return (inbox, task)
}

struct SSEContentTypeError: Error {
    var contentType: String?
}

struct HTTPResult: Sendable {
    var status: Int
    var json: [String: any Sendable]
    var text: String
}

func request(
    _ method: HTTPMethod, _ url: String, body: String? = nil, contentType: String? = "application/json",
    bearer: String? = nil, headers: [(String, String)] = []
) async throws -> HTTPResult {
    var request = HTTPClientRequest(url: url)
    request.method = method
    if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
    if let body { request.body = .bytes(ByteBuffer(string: body)) }
    let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
    let data = try await response.body.collect(upTo: 1 << 24)
    let text = String(buffer: data)
    let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    return HTTPResult(status: Int(response.status.code), json: object.mapValues { "\($0)" }, text: text)
}

func postReactions(_ api: String, _ mix: [(String, Int)], user: String = "viewer") async throws -> HTTPResult {
    try await postChannelReactions(api, mix.map { (ChannelName.defaultName, $0.0, $0.1) }, user: user)
}

/// Posts one batch with the events of every `(channel, emoji, count)` interleaved (round-robin over the entries),
/// each from a user of its own: the per-user rate limit is not what these tests are about.
func postChannelReactions(_ api: String, _ mix: [(String, String, Int)], user: String = "u") async throws -> HTTPResult {
    let now = EpochMillis.now()
    var remaining = mix.map(\.2)
    var events: [String] = []
    while remaining.contains(where: { $0 > 0 }) {
        for (index, (channel, emoji, _)) in mix.enumerated() where remaining[index] > 0 {
            remaining[index] -= 1
            events.append(
                Reaction(userID: "\(user)-\(events.count)", emoji: emoji, clientTimestamp: now, channel: channel).jsonText())
        }
    }
    return try await request(.POST, api + "/api/emojis", body: "[" + events.joined(separator: ",") + "]")
}

func counts(_ message: ViewerMessage) -> [String: Int] {
    Dictionary(uniqueKeysWithValues: (message.emojis ?? []).map { ($0.emoji, $0.count) })
}

func scaled(_ message: ViewerMessage) -> [String: Int] {
    Dictionary(uniqueKeysWithValues: (message.emojis ?? []).map { ($0.emoji, $0.scaled) })
}
