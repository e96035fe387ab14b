import EmoCore
import Foundation

/// What a WebSocket viewer may say: `{"type":"switch","channel":"NAME"}` (optionally with `"after":SEQ`) moves
/// it to another channel on the same socket. The answer is a new `hello` for that channel, then only that
/// channel's bursts; a bad request is answered with `{"type":"error","error":…}` and the viewer stays where it was.
struct ChannelSwitcher: Sendable {
    let admission: any ViewerAdmission
    let ticket: AdmissionTicket
    let node: String

    struct ClientMessage: Decodable {
        var type: String
        var channel: String?
        var after: UInt64?
    }

    func handle(_ text: String, subscription: ViewerSubscription) async {
        guard let message = try? JSONDecoder().decode(ClientMessage.self, from: Data(text.utf8)) else {
            subscription.send(errorMessage("invalid_message", #"send {"type":"switch","channel":"NAME"}"#))
            return
        }
        guard message.type == "switch" else {
            subscription.send(errorMessage("invalid_message", "unknown message type '\(message.type)'"))
            return
        }
        guard let channel = message.channel, ChannelName.isValid(channel) else {
            subscription.send(
                errorMessage("invalid_channel", "channel must be 1-64 characters of [a-z0-9_-]", channel: message.channel))
            return
        }
        do {
            guard try await admission.allows(channel: channel) else {
                subscription.send(
                    errorMessage(
                        "unknown_channel", "no channel named '\(channel)': the operator creates channels with "
                            + "`emostream channels add`", channel: channel))
                return
            }
        } catch {
            subscription.send(errorMessage("unavailable", "the channel registry cannot be read; try again", channel: channel))
            return
        }
        // Recorded first, so that once the viewer has its new hello the viewers-per-channel figures agree.
        await admission.switched(ticket, to: channel)
        let node = node
        subscription.move(to: channel, after: message.after) { helloMessage(node: node, channel: channel, seq: $0) }
    }

    func errorMessage(_ code: String, _ text: String, channel: String? = nil) -> String {
        var object: [String: Any] = ["type": "error", "error": code, "message": text]
        if let channel { object["channel"] = channel }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
