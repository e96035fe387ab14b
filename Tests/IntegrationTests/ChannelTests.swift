import AsyncHTTPClient
import EmoCore
import EmoStreamApp
import Foundation
import HummingbirdWSClient
import LoadGen
import Testing

@Suite(.serialized) struct ChannelTests {
    @Test func eventsOfSeveralChannelsInOneBatchReachOnlyTheirOwnViewersWithExactCounts() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let account = try await Account.make(endpoints.api)
            let (cricket, cricketTask) = connectWebSocket(try await account.place(channel: "cricket").wsURL)
            let (concert, concertTask) = connectSSE(try await account.place(channel: "concert").sseURL)
            let (main, mainTask) = connectWebSocket(try await account.place().wsURL)
            defer {
                cricketTask.cancel()
                concertTask.cancel()
                mainTask.cancel()
            }
            #expect(try await cricket.next().channel == "cricket")
            #expect(try await concert.next().channel == "concert")
            #expect(try await main.next().channel == "main")

            let posted = try await postChannelReactions(
                endpoints.api,
                [("cricket", "😀", 450), ("concert", "😢", 120), ("cricket", "🔥", 7), ("talk-show", "👏", 33),
                 ("main", "🎉", 5)])
            #expect(posted.status == 202)
            #expect(posted.json["accepted"] as? String == "615")

            let cricketBurst = try await cricket.next()
            #expect(cricketBurst.type == "burst" && cricketBurst.channel == "cricket" && cricketBurst.seq == 1)
            #expect(counts(cricketBurst) == ["😀": 450, "🔥": 7])
            #expect(cricketBurst.total == 457)
            let concertBurst = try await concert.next()
            #expect(concertBurst.channel == "concert" && concertBurst.seq == 1)
            #expect(counts(concertBurst) == ["😢": 120])
            let mainBurst = try await main.next()
            #expect(mainBurst.channel == "main" && counts(mainBurst) == ["🎉": 5])

            // Windows of other channels only: a viewer of cricket gets nothing of them. Its next message is the
            // burst of the next window that has cricket reactions.
            _ = try await postChannelReactions(endpoints.api, [("concert", "😮", 9), ("talk-show", "😂", 4)])
            #expect(counts(try await concert.next()) == ["😮": 9])
            _ = try await postChannelReactions(endpoints.api, [("cricket", "👍", 3), ("concert", "❤️", 2)])
            let next = try await cricket.next()
            #expect(next.channel == "cricket" && next.seq == 2 && counts(next) == ["👍": 3])
            #expect(counts(try await concert.next()) == ["❤️": 2])
        }
    }

    @Test func aViewerSwitchesChannelOnItsWebSocket() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api)
            let viewer = SwitchingViewer(try await account.place(channel: "cricket").wsURL)
            defer { viewer.task.cancel() }
            let hello = try await viewer.inbox.next()
            #expect(hello.type == "hello" && hello.channel == "cricket" && hello.seq == 0)
            // Another viewer stays on cricket, to know when its bursts are out.
            let (cricket, cricketTask) = connectSSE(try await account.place(channel: "cricket").sseURL)
            defer { cricketTask.cancel() }
            _ = try await cricket.next()

            _ = try await postChannelReactions(endpoints.api, [("cricket", "😀", 20), ("concert", "🔥", 4)])
            let first = try await viewer.inbox.next()
            #expect(first.channel == "cricket" && counts(first) == ["😀": 20])
            try await waitForChannel(endpoints.api, "cricket", viewers: 2)

            viewer.send(#"{"type":"switch","channel":"concert"}"#)
            let switched = try await viewer.inbox.next()
            #expect(switched.type == "hello" && switched.channel == "concert" && switched.seq == 1)
            // The session follows the viewer: the gateway counts it under its new channel.
            let listed = try await channelList(endpoints.api)
            #expect(listed.first { $0.name == "concert" }?.viewers == 1)
            #expect(listed.first { $0.name == "cricket" }?.viewers == 1)

            _ = try await postChannelReactions(endpoints.api, [("cricket", "👏", 6), ("concert", "🎉", 8)])
            let burst = try await viewer.inbox.next()
            #expect(burst.type == "burst" && burst.channel == "concert" && burst.seq == 2 && counts(burst) == ["🎉": 8])

            // A bad switch is answered with an error; the viewer stays on its channel.
            viewer.send(#"{"type":"switch","channel":"Not A Channel"}"#)
            let error = try await viewer.inbox.nextObject()
            #expect(error["type"] as? String == "error" && error["error"] as? String == "invalid_channel")
            viewer.send(#"{"type":"dance"}"#)
            #expect(try await viewer.inbox.nextObject()["error"] as? String == "invalid_message")
            _ = try await postChannelReactions(endpoints.api, [("cricket", "👏", 1), ("concert", "🎉", 2)])
            let stayed = try await viewer.inbox.next()
            #expect(stayed.channel == "concert" && counts(stayed) == ["🎉": 2])

            // With after=SEQ, the new channel's recent bursts are replayed after the hello.
            #expect(try await [cricket.next(), cricket.next(), cricket.next()].map(\.seq) == [1, 2, 3])
            viewer.send(#"{"type":"switch","channel":"cricket","after":0}"#)
            let back = try await viewer.inbox.next()
            #expect(back.type == "hello" && back.channel == "cricket" && back.seq == 3)
            #expect(try await [viewer.inbox.next(), viewer.inbox.next(), viewer.inbox.next()].map(\.seq) == [1, 2, 3])
        } configure: { configuration in
            configuration.gateway.activity.maxAge = .zero
        }
    }

    @Test func closedChannelsAcceptOnlyRegisteredOnes() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-closed-\(UUID())").path
        try await withSystem(nodes: 1) { endpoints in
            let account = try await Account.make(endpoints.api)
            let refused = try await postChannelReactions(endpoints.api, [("nowhere", "😀", 2)])
            #expect(refused.status == 404)
            #expect(refused.json["error"] as? String == "unknown_channel")
            #expect(refused.json["index"] as? String == "0")

            let (status, output) = try await runEmostream(["channels", "add", "cricket", "main", "--data-dir", dataDirectory])
            #expect(status == 0, "\(output)")
            #expect(output.contains("added cricket"))
            let (_, list) = try await runEmostream(["channels", "list", "--data-dir", dataDirectory])
            #expect(list.contains("cricket") && list.contains("main"))

            // All-or-nothing: one unknown channel refuses the batch; `index` is its first event.
            let mixed = try await postChannelReactions(endpoints.api, [("cricket", "😀", 3), ("concert", "😢", 2)])
            #expect(mixed.status == 404)
            #expect(mixed.json["error"] as? String == "unknown_channel")
            #expect(mixed.json["index"] as? String == "1")
            let connectUnknown = try await account.connect(channel: "concert")
            #expect(connectUnknown.status == 404 && connectUnknown.json["error"] as? String == "unknown_channel")

            let viewer = SwitchingViewer(try await account.place(channel: "cricket").wsURL)
            defer { viewer.task.cancel() }
            _ = try await viewer.inbox.next()
            viewer.send(#"{"type":"switch","channel":"concert"}"#)
            #expect(try await viewer.inbox.nextObject()["error"] as? String == "unknown_channel")

            let accepted = try await postChannelReactions(endpoints.api, [("cricket", "😀", 3), ("main", "😢", 2)])
            #expect(accepted.status == 202)
            let burst = try await viewer.inbox.next()
            #expect(burst.channel == "cricket" && counts(burst) == ["😀": 3])
        } configure: { configuration in
            configuration.store.channelsClosed = true
            configuration.dataDirectory = dataDirectory
        }
    }

    @Test func openChannelsAreRegisteredOnFirstUse() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-open-\(UUID())").path
        try await withSystem(nodes: 1) { endpoints in
            #expect(try await postChannelReactions(endpoints.api, [("quiz-night", "😮", 2)]).status == 202)
            let (_, list) = try await runEmostream(["channels", "list", "--data-dir", dataDirectory])
            #expect(list.contains("quiz-night"))
        } configure: { configuration in
            configuration.dataDirectory = dataDirectory
        }
    }

    @Test func theChannelListIsOrderedByViewersThenReactionsPerSecond() async throws {
        try await withSystem(nodes: 2) { endpoints in
            let account = try await Account.make(endpoints.api)
            // Reserved places count as viewers (their tickets are live).
            for channel in ["alpha", "alpha", "beta", "gamma"] { _ = try await account.place(channel: channel) }
            let (watcher, watcherTask) = connectWebSocket(try await Account.make(endpoints.api).place(channel: "delta").wsURL)
            defer { watcherTask.cancel() }
            _ = try await watcher.next()
            _ = try await postChannelReactions(
                endpoints.api, [("beta", "😀", 40), ("gamma", "🔥", 80), ("delta", "👏", 30), ("epsilon", "😂", 10)])
            _ = try await watcher.next()  // the window is published
            let span = 10  // seconds: reactions per second are averaged over the last 10 s
            let list = try await waitForList(endpoints.api) { list in
                ["beta", "gamma", "delta", "epsilon"].allSatisfy { name in list.contains { $0.name == name && $0.rate > 0 } }
            }
            #expect(list.map(\.name) == ["alpha", "gamma", "beta", "delta", "epsilon"])
            #expect(list.map(\.viewers) == [2, 1, 1, 1, 0])
            #expect(list.map(\.rate) == [0, 80 / Double(span), 40 / Double(span), 30 / Double(span), 10 / Double(span)])
            let limited = try await request(.GET, endpoints.api + "/api/channels?limit=2", contentType: nil)
            #expect(try decodeChannels(limited.text).map(\.name) == ["alpha", "gamma"])
            #expect(try await request(.GET, endpoints.api + "/api/channels?limit=0", contentType: nil).status == 400)

            // The operator page has the same figures.
            let login = try await request(.POST, endpoints.api + "/api/admin/login", body: #"{"password":"operator-password"}"#)
            let token = try #require(login.json["token"] as? String)
            let overview = try await request(.GET, endpoints.api + "/api/admin/overview", contentType: nil, bearer: token)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(overview.text.utf8)) as? [String: Any])
            let channels = try #require(object["channels"] as? [[String: Any]])
            #expect(channels.compactMap { $0["name"] as? String } == ["alpha", "gamma", "beta", "delta", "epsilon"])
            #expect(channels.first?["viewers"] as? Int == 2)
        } configure: { configuration in
            configuration.gateway.activity.maxAge = .zero
            configuration.gateway.adminPassword = "operator-password"
        }
    }

    @Test func theLoadGeneratorSpreadsOverChannelsAndChecksEachAgainstTheBursts() async throws {
        try await withSystem(nodes: 1, window: 100) { endpoints in
            var configuration = LoadGenerator.Configuration()
            configuration.url = endpoints.api
            configuration.mix = [("😀", 300), ("🎉", 100)]
            configuration.interval = .milliseconds(100)
            configuration.duration = .milliseconds(1500)
            configuration.channels = 5
            configuration.watch = 5
            let generator = LoadGenerator(configuration: configuration)
            try await generator.run { _, _ in }
            let report = generator.channelReport
            #expect(report.map(\.channel) == ["ch-1", "ch-2", "ch-3", "ch-4", "ch-5"])
            #expect(report.allSatisfy { $0.tally.accepted == $0.tally.sent && $0.tally.matches == true }, "\(report)")
            #expect(report.map(\.tally.sent).reduce(0, +) == generator.totals.accepted)
            // Zipf with s = 1: ch-1 gets 1/H(5) ≈ 44 % of the reactions, ch-5 about 9 %.
            #expect(report[0].tally.sent > 2 * report[4].tally.sent)
        }
    }

    @Test func metricsKeepPerChannelSeriesBounded() async throws {
        try await withSystem(nodes: 1) { endpoints in
            let (watcher, watcherTask) = connectWebSocket(try await Account.make(endpoints.api).place(channel: "ch-50").wsURL)
            defer { watcherTask.cancel() }
            _ = try await watcher.next()
            // 50 channels; ch-i gets i reactions, so ch-41 ... ch-50 are the busiest.
            let mix = (1...50).map { ("ch-\($0)", "😀", $0) }
            #expect(try await postChannelReactions(endpoints.api, mix).status == 202)
            #expect(counts(try await watcher.next()) == ["😀": 50])
            _ = try await waitForList(endpoints.api) { $0.count == 50 }
            let metrics = try await request(.GET, endpoints.api + "/metrics", contentType: nil).text
            for name in ["emostream_channel_reactions_per_second", "emostream_channel_viewers", "emostream_channel_reactions_total"] {
                let labels = Set(metricLabels(metrics, name))
                #expect(labels.count <= 11, "\(name): \(labels.sorted())")
                #expect(labels.contains("other"))
            }
            let labelled = Set(metricLabels(metrics, "emostream_channel_reactions_per_second")).subtracting(["other"])
            #expect(labelled == Set((41...50).map { "ch-\($0)" }))
        } configure: { configuration in
            configuration.gateway.activity.maxAge = .zero
        }
    }
}

// MARK: Helpers

struct ListedChannel: Decodable, Equatable {
    var name: String
    var viewers: Int
    var rate: Double

    enum CodingKeys: String, CodingKey {
        case name, viewers
        case rate = "reactions_per_second"
    }
}

func decodeChannels(_ text: String) throws -> [ListedChannel] {
    struct List: Decodable { var channels: [ListedChannel] }
    return try JSONDecoder().decode(List.self, from: Data(text.utf8)).channels
}

func channelList(_ api: String) async throws -> [ListedChannel] {
    try decodeChannels(try await request(.GET, api + "/api/channels", contentType: nil).text)
}

/// Polls `GET /api/channels` until `condition` holds: the list follows the bursts topic a moment after a viewer
/// got the burst.
func waitForList(_ api: String, _ condition: @escaping @Sendable ([ListedChannel]) -> Bool) async throws -> [ListedChannel] {
    try await withTimeout(seconds: 15) {
        while true {
            let list = try await channelList(api)
            if condition(list) { return list }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

func waitForChannel(_ api: String, _ name: String, viewers: Int) async throws {
    _ = try await waitForList(api) { list in list.contains { $0.name == name && $0.viewers == viewers } }
}

/// The values of the `channel` label of a metric in Prometheus text.
func metricLabels(_ text: String, _ name: String) -> [String] {
    text.split(separator: "\n").compactMap { line -> String? in
        guard line.hasPrefix(name + "{"), let start = line.range(of: #"channel=""#) else { return nil }
        let rest = line[start.upperBound...]
        return rest.firstIndex(of: "\"").map { String(rest[..<$0]) }
    }
}

/// Runs the `emostream` executable (built next to the tests) to completion: its exit status and standard output.
func runEmostream(_ arguments: [String]) async throws -> (Int32, String) {
    let process = Process()
    process.executableURL = RoleProcess.binary
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    let (ended, continuation) = AsyncStream.makeStream(of: Int32.self)
    process.terminationHandler = { continuation.yield($0.terminationStatus) }
    try process.run()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    let status = try await withTimeout { for await status in ended { return status }; return -1 }
    return (status, text)
}

/// A WebSocket viewer that can also send messages (to switch channel).
final class SwitchingViewer: Sendable {
    let inbox: Inbox
    let outbox: AsyncStream<String>.Continuation
    let task: Task<Void, any Error>

    init(_ url: String) {
        let (outgoing, outbox) = AsyncStream.makeStream(of: String.self)
        self.outbox = outbox
        let inbox = Inbox()
        self.inbox = inbox
        task = Task {
            defer { inbox.continuation.finish() }
            try await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: quietLogger) {
                inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in outgoing { try await outbound.write(.text(text)) }
                    }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        if case .text(let text) = message { inbox.continuation.yield(text) }
                    }
                    group.cancelAll()
                }
            }
        }
    }

    func send(_ text: String) { outbox.yield(text) }
}

extension Inbox {
    /// The next message as a JSON object (for messages other than hello and burst).
    func nextObject() async throws -> [String: Any] {
        let stream = self.stream
        let text = try await withTimeout {
            var iterator = stream.makeAsyncIterator()
            guard let text = await iterator.next() else { throw ViewerClosed(reason: nil) }
            return text
        }
        return try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] ?? [:]
    }
}
