/// One validated emoji reaction, as stored in the `emoji` topic.
///
/// The ingest time is not part of the value: it is the record's timestamp in the event log, set when the log
/// accepted the record, and windows are computed from it.
public struct Reaction: Codable, Sendable, Hashable {
    public var userID: String
    public var emoji: String
    /// The client's own timestamp, kept for auditing; windows never use it.
    public var clientTimestamp: EpochMillis
    public var channel: String

    public init(userID: String, emoji: String, clientTimestamp: EpochMillis, channel: String = ChannelName.defaultName) {
        self.userID = userID
        self.emoji = emoji
        self.clientTimestamp = clientTimestamp
        self.channel = channel
    }

    enum CodingKeys: String, CodingKey {
        case userID = "user_id"
        case emoji = "emoji_type"
        case clientTimestamp = "timestamp"
        case channel
    }
}

/// Names of live events ("channels"); every reaction and burst belongs to one.
public enum ChannelName {
    public static let defaultName = "main"

    /// 1-64 characters of `[a-z0-9_-]`.
    public static func isValid(_ name: String) -> Bool {
        guard (1...64).contains(name.utf8.count) else { return false }
        return name.utf8.allSatisfy { byte in
            (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) || byte == 0x5F || byte == 0x2D
        }
    }
}

/// Validation of `user_id`: 1-64 characters of letters, digits, `_ - . @`.
public enum UserID {
    public static func isValid(_ value: String) -> Bool {
        guard (1...64).contains(value.unicodeScalars.count) else { return false }
        return value.unicodeScalars.allSatisfy { scalar in
            (scalar.properties.isAlphabetic || scalar.properties.numericType == .decimal)
                && !scalar.properties.isWhitespace || "_-.@".unicodeScalars.contains(scalar)
        }
    }
}

extension Reaction {
    /// The JSON stored in the `emoji` topic, written without a JSON encoder: every field is validated to hold
    /// no character that JSON would need to escape (letters, digits, `_-.@`, emoji scalars).
    public func jsonText() -> String {
        #"{"user_id":""# + userID + #"","emoji_type":""# + emoji + #"","timestamp":"# + String(clientTimestamp)
            + #","channel":""# + channel + #""}"#
    }
}
