import Foundation

/// A problem with an ingest request, reported to the client as `400 {"error", "message", "index"}`
/// (or 413 for `batch_too_large`).
public struct IngestError: Error, Sendable, Equatable {
    public enum Code: String, Sendable {
        case invalidJSON = "invalid_json"
        case emptyBatch = "empty_batch"
        case batchTooLarge = "batch_too_large"
        case missingField = "missing_field"
        case invalidEmoji = "invalid_emoji"
        case invalidTimestamp = "invalid_timestamp"
        case invalidUserID = "invalid_user_id"
        case invalidChannel = "invalid_channel"
    }

    public var code: Code
    public var message: String
    /// Index of the offending event in the batch (0 for a single object); nil when the body as a whole is wrong.
    public var index: Int?

    public init(_ code: Code, _ message: String, index: Int? = nil) {
        self.code = code
        self.message = message
        self.index = index
    }
}

/// Decodes and validates the body of `POST /api/emojis`: one event object or an array of them.
public struct IngestBatchDecoder: Sendable {
    public var maxEvents: Int
    /// How far a client timestamp may be from server time.
    public var maxClockSkewMillis: EpochMillis

    public init(maxEvents: Int = 10_000, maxClockSkewMillis: EpochMillis = 24 * 3600 * 1000) {
        self.maxEvents = maxEvents
        self.maxClockSkewMillis = maxClockSkewMillis
    }

    /// All-or-nothing: either every event is valid and returned, or the first problem is thrown.
    public func decode(_ body: Data, now: EpochMillis = .now()) throws(IngestError) -> [Reaction] {
        let raw: [RawEvent]
        do {
            raw = try JSONDecoder().decode(OneOrMany.self, from: body).events
        } catch {
            throw IngestError(.invalidJSON, Self.describe(error))
        }
        guard !raw.isEmpty else { throw IngestError(.emptyBatch, "the batch holds no events") }
        guard raw.count <= maxEvents else {
            throw IngestError(.batchTooLarge, "a batch holds at most \(maxEvents) events, got \(raw.count)")
        }
        var reactions: [Reaction] = []
        reactions.reserveCapacity(raw.count)
        for (index, event) in raw.enumerated() {
            reactions.append(try validate(event, index: index, now: now))
        }
        return reactions
    }

    func validate(_ event: RawEvent, index: Int, now: EpochMillis) throws(IngestError) -> Reaction {
        guard event.isObject else {
            throw IngestError(.invalidJSON, "every event must be a JSON object", index: index)
        }
        guard case .present(let userValue) = event.userID else {
            throw IngestError(.missingField, "user_id is required", index: index)
        }
        guard case .string(let userID) = userValue, UserID.isValid(userID) else {
            throw IngestError(
                .invalidUserID, "user_id must be 1-64 characters of letters, digits, _ - . @", index: index)
        }
        guard case .present(let emojiValue) = event.emoji else {
            throw IngestError(.missingField, "emoji_type is required", index: index)
        }
        guard case .string(let emojiText) = emojiValue, let emoji = Emoji.normalize(emojiText) else {
            throw IngestError(
                .invalidEmoji, "emoji_type must be a single emoji or one of: "
                    + Emoji.aliases.keys.sorted().joined(separator: ", "), index: index)
        }
        guard case .present(let timestampValue) = event.timestamp else {
            throw IngestError(.missingField, "timestamp is required", index: index)
        }
        let timestamp: EpochMillis
        switch timestampValue {
        case .string(let text):
            guard let parsed = ISO8601Millis.parse(text) else {
                throw IngestError(
                    .invalidTimestamp, "timestamp must be ISO-8601 (e.g. 2026-11-29T06:00:00.123Z) or epoch milliseconds",
                    index: index)
            }
            timestamp = parsed
        case .number(let number):
            guard number.isFinite, abs(number) < 1e15 else {
                throw IngestError(.invalidTimestamp, "timestamp in epoch milliseconds is out of range", index: index)
            }
            timestamp = EpochMillis(number.rounded(.down))
        case .other:
            throw IngestError(
                .invalidTimestamp, "timestamp must be an ISO-8601 string or a number of epoch milliseconds",
                index: index)
        }
        guard abs(timestamp - now) <= maxClockSkewMillis else {
            throw IngestError(
                .invalidTimestamp, "timestamp is more than \(maxClockSkewMillis / 3_600_000) h away from server time",
                index: index)
        }
        var channel = ChannelName.defaultName
        if case .present(let channelValue) = event.channel {
            guard case .string(let name) = channelValue, ChannelName.isValid(name) else {
                throw IngestError(.invalidChannel, "channel must be 1-64 characters of [a-z0-9_-]", index: index)
            }
            channel = name
        }
        return Reaction(userID: userID, emoji: emoji, clientTimestamp: timestamp, channel: channel)
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            if context.codingPath.isEmpty {
                return "the body is not valid JSON"
            }
            return context.debugDescription
        case DecodingError.typeMismatch(_, let context):
            return context.codingPath.isEmpty
                ? "the body must be a JSON object or an array of objects"
                : "every event must be a JSON object"
        default:
            return "the body is not valid JSON"
        }
    }
}

/// A JSON value as much as validation needs to tell apart.
enum RawValue: Decodable {
    case string(String)
    case number(Double)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else {
            self = .other
        }
    }
}

enum RawField {
    case missing
    case present(RawValue)
}

struct RawEvent: Decodable {
    var userID: RawField
    var emoji: RawField
    var timestamp: RawField
    var channel: RawField

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case emoji = "emoji_type"
        case timestamp
        case channel
    }

    /// False when the array element is not a JSON object.
    var isObject = true

    init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: CodingKeys.self) else {
            isObject = false
            userID = .missing
            emoji = .missing
            timestamp = .missing
            channel = .missing
            return
        }
        func field(_ key: CodingKeys) throws -> RawField {
            guard container.contains(key), try !container.decodeNil(forKey: key) else { return .missing }
            return .present(try container.decode(RawValue.self, forKey: key))
        }
        userID = try field(.userID)
        emoji = try field(.emoji)
        timestamp = try field(.timestamp)
        channel = try field(.channel)
    }
}

struct OneOrMany: Decodable {
    var events: [RawEvent]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let many = try? container.decode([RawEvent].self) {
            events = many
        } else {
            let single = try container.decode(RawEvent.self)
            guard single.isObject else {
                throw DecodingError.typeMismatch(
                    RawEvent.self, .init(codingPath: [], debugDescription: "expected an object or an array"))
            }
            events = [single]
        }
    }
}
