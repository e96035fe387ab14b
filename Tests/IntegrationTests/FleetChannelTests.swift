import Foundation
import Testing

/// Channels across separate gateway and node processes sharing one PostgreSQL store.
@Suite(.serialized) struct FleetChannelTests {
    @Test func closedChannelsAndViewersPerChannelHoldAcrossProcesses() async throws {
        let databaseURL = try await FleetDatabase.create()
        let environment = [
            "EMOSTREAM_DATABASE_URL": databaseURL, "EMOSTREAM_SECRET": testSecret, "EMOSTREAM_BCRYPT_COST": "4",
            "EMOSTREAM_CHANNELS_CLOSED": "1",
        ]
        let gateway = try RoleProcess.start(["gateway", "--port", "0"], environment: environment, readyPrefix: "EmoStream gateway ready: ")
        defer { gateway.kill() }
        let node = try RoleProcess.start(
            ["node", "--port", "0", "--name", "node-a", "--capacity", "10"], environment: environment,
            readyPrefix: "EmoStream node ready: ")
        defer { node.kill() }
        let api = try await gateway.ready()
        _ = try await node.ready()

        let (status, output) = try await runEmostream(["channels", "add", "cricket", "concert", "--database-url", databaseURL])
        #expect(status == 0, "\(output)")
        let account = try await Account.make(api)
        let refused = try await account.connect(channel: "quiz")
        #expect(refused.status == 404 && refused.json["error"] as? String == "unknown_channel")

        let viewer = SwitchingViewer(try await account.place(channel: "cricket").wsURL)
        defer { viewer.task.cancel() }
        let hello = try await viewer.inbox.next()
        #expect(hello.channel == "cricket" && hello.node == "node-a")
        _ = try await waitForList(api) { $0 == [ListedChannel(name: "cricket", viewers: 1, rate: 0)] }

        // The node process checks the registry too, and records the switch in the shared store.
        viewer.send(#"{"type":"switch","channel":"quiz"}"#)
        #expect(try await viewer.inbox.nextObject()["error"] as? String == "unknown_channel")
        viewer.send(#"{"type":"switch","channel":"concert"}"#)
        #expect(try await viewer.inbox.next().channel == "concert")
        _ = try await waitForList(api) { $0 == [ListedChannel(name: "concert", viewers: 1, rate: 0)] }
    }
}
