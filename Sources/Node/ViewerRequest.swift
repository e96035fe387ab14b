import EmoCore
import EmoHTTP
import HTTPTypes
import Foundation
import Hummingbird

/// The query of `GET /ws` and `GET /events`: `?after=SEQ&channel=NAME`.
struct ViewerRequest {
    var channel: String
    var after: UInt64?
    var ticket: String?

    init(_ request: Request) throws {
        let query = request.uri.queryParameters
        ticket = query.get("ticket")
        channel = query.get("channel") ?? ChannelName.defaultName
        guard ChannelName.isValid(channel) else {
            throw APIError(.badRequest, "invalid_channel", "channel must be 1-64 characters of [a-z0-9_-]")
        }
        let lastEventID = request.headers[HTTPField.Name("Last-Event-ID")!]
        if let after = query.get("after") ?? lastEventID {
            guard let value = UInt64(after) else {
                throw APIError(.badRequest, "invalid_after", "after must be a non-negative integer sequence number")
            }
            self.after = value
        }
    }
}

func helloMessage(node: String, channel: String, seq: UInt64) -> String {
    let object: [String: Any] = ["type": "hello", "node": node, "channel": channel, "seq": seq]
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
    return String(decoding: data, as: UTF8.self)
}
