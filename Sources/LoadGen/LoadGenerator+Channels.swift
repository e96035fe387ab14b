import AsyncHTTPClient
import EmoCore
import Foundation
import NIOCore
import NIOFoundationCompat

/// What the load generator did for one channel.
public struct ChannelTally: Sendable, Equatable {
    public var sent = 0
    /// Reactions of batches the ingest accepted (202).
    public var accepted = 0
    /// Reactions counted in the channel's bursts (their raw `total`), when the channel is watched.
    public var counted: Int?

    /// Whether the bursts counted exactly the accepted reactions (nil when the channel is not watched).
    public var matches: Bool? { counted.map { $0 == accepted } }
}

/// Picks 0 ..< count with probability proportional to 1 / (k + 1)^s (Zipf's law).
struct ZipfSampler: Sendable {
    let cumulative: [Double]

    init(count: Int, exponent: Double) {
        var sum = 0.0
        cumulative = (1...max(count, 1)).map { rank in
            sum += 1 / pow(Double(rank), exponent)
            return sum
        }
    }

    func sample(using generator: inout some RandomNumberGenerator) -> Int {
        let target = Double.random(in: 0..<cumulative.last!, using: &generator)
        var low = 0
        var high = cumulative.count - 1
        while low < high {
            let middle = (low + high) / 2
            if cumulative[middle] > target { high = middle } else { low = middle + 1 }
        }
        return low
    }
}

struct LoadGenError: Error, CustomStringConvertible {
    var description: String
}

extension LoadGenerator {
    /// Per channel, the most popular first: sent, accepted and counted in bursts.
    public var channelReport: [(channel: String, tally: ChannelTally)] {
        let tallies = tallies.withLock { $0 }
        return configuration.channelNames.compactMap { name in tallies[name].map { (name, $0) } }
    }

    /// Registers accounts (a tier-1 account watches on 5 devices), places one SSE viewer per channel and returns
    /// once every viewer has its hello; the viewers keep counting in `watchers` until cancelled.
    func startWatchers(
        for channels: [String], client: HTTPClient, in watchers: inout ThrowingTaskGroup<Void, any Error>
    ) async throws {
        let (ready, readyContinuation) = AsyncStream.makeStream(of: String.self)
        var token = ""
        for (index, channel) in channels.enumerated() {
            if index % 5 == 0 { token = try await makeAccount(client: client) }
            let placement = try await call(
                client, "/api/connect", body: ["channel": channel], bearer: token)
            guard let sse = placement["sse_url"] as? String else {
                throw LoadGenError(description: "POST /api/connect answered no sse_url: \(placement)")
            }
            tallies.withLock { $0[channel, default: ChannelTally()].counted = 0 }
            watchers.addTask { try await self.watch(channel, url: sse, client: client, ready: readyContinuation) }
        }
        var waiting = channels.count
        for await _ in ready {
            waiting -= 1
            if waiting == 0 { break }
        }
        if waiting > 0 { try await watchers.next() }  // a watcher failed: its error
        if waiting > 0 { throw LoadGenError(description: "a watcher could not connect") }
    }

    /// Reads a channel's SSE stream, adding each burst's raw total to the channel's count.
    func watch(
        _ channel: String, url: String, client: HTTPClient, ready: AsyncStream<String>.Continuation
    ) async throws {
        do {
            try await readBursts(channel, url: url, client: client, ready: ready)
        } catch {
            ready.finish()  // startWatchers stops waiting for this one's hello
            throw error
        }
    }

    func readBursts(
        _ channel: String, url: String, client: HTTPClient, ready: AsyncStream<String>.Continuation
    ) async throws {
        let response = try await client.execute(HTTPClientRequest(url: url), timeout: .hours(24))
        guard response.status == .ok else {
            throw LoadGenError(description: "watching \(channel): \(response.status)")
        }
        var pending = ""
        for try await buffer in response.body {
            pending += String(buffer: buffer)
            while let range = pending.range(of: "\n") {
                let line = String(pending[..<range.lowerBound])
                pending.removeSubrange(..<range.upperBound)
                guard line.hasPrefix("data: "),
                    let object = try? JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
                else { continue }
                if object["type"] as? String == "hello" {
                    ready.yield(channel)
                } else if object["type"] as? String == "burst", object["channel"] as? String == channel,
                    let total = object["total"] as? Int
                {
                    tallies.withLock { $0[channel, default: ChannelTally()].counted = ($0[channel]?.counted ?? 0) + total }
                }
            }
        }
    }

    /// Waits until every watched channel has counted what was accepted, or `drainTimeout` passes.
    func drain(_ channels: [String]) async {
        let deadline = ContinuousClock.now + configuration.drainTimeout
        while ContinuousClock.now < deadline {
            let done = tallies.withLock { tallies in
                channels.allSatisfy { (tallies[$0]?.counted ?? 0) >= (tallies[$0]?.accepted ?? 0) }
            }
            if done { return }
            try? await Task.sleep(for: .milliseconds(100))
        }
    }

    func makeAccount(client: HTTPClient) async throws -> String {
        let name = "loadgen-\(UInt32.random(in: 0...UInt32.max))"
        let password = UUID().uuidString
        _ = try await call(client, "/api/register", body: ["name": name, "password": password, "tier": 1])
        let login = try await call(client, "/api/login", body: ["name": name, "password": password])
        guard let token = login["token"] as? String else { throw LoadGenError(description: "login failed: \(login)") }
        return token
    }

    /// A JSON POST to the API; throws on anything but 2xx.
    func call(_ client: HTTPClient, _ path: String, body: [String: any Sendable], bearer: String? = nil) async throws
        -> [String: Any]
    {
        var request = HTTPClientRequest(url: configuration.url + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        request.body = .bytes(ByteBuffer(data: try JSONSerialization.data(withJSONObject: body)))
        let response = try await client.execute(request, timeout: .seconds(30))
        let data = try await response.body.collect(upTo: 1 << 20)
        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: data))) as? [String: Any] ?? [:]
        guard (200..<300).contains(response.status.code) else {
            throw LoadGenError(description: "POST \(path): \(response.status.code) \(object)")
        }
        return object
    }
}
