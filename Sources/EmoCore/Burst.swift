/// One emoji type's share of a window.
public struct EmojiCount: Codable, Sendable, Hashable {
    public var emoji: String
    public var count: Int
    public var scaled: Int

    public init(emoji: String, count: Int, scaled: Int) {
        self.emoji = emoji
        self.count = count
        self.scaled = scaled
    }

    enum CodingKeys: String, CodingKey {
        case emoji = "emoji_type"
        case count
        case scaled
    }
}

/// The aggregated result of one window of one channel, as the viewers receive it.
public struct Burst: Codable, Sendable, Hashable {
    public var channel: String
    public var seq: UInt64
    public var windowStart: EpochMillis
    public var windowEnd: EpochMillis
    public var total: Int
    /// Sorted by count, descending (ties by emoji, for a stable order).
    public var emojis: [EmojiCount]
    /// A correction: reactions of an already published window that reached the publisher late (after a broker
    /// stall or a processor's failover). Its counts add to the earlier burst(s) of the same window.
    public var correction: Bool

    public init(
        channel: String, seq: UInt64, windowStart: EpochMillis, windowEnd: EpochMillis, total: Int,
        emojis: [EmojiCount], correction: Bool = false
    ) {
        self.correction = correction
        self.channel = channel
        self.seq = seq
        self.windowStart = windowStart
        self.windowEnd = windowEnd
        self.total = total
        self.emojis = emojis.sorted { $0.count != $1.count ? $0.count > $1.count : $0.emoji < $1.emoji }
    }

    /// Builds a burst from a window's raw counts, applying the scale-down rule. `total` counts every reaction of
    /// the window; types that scale to zero (floor mode) are left out of `emojis`.
    public init(
        channel: String, seq: UInt64, windowStart: EpochMillis, windowEnd: EpochMillis, counts: [String: Int],
        scaleDown: ScaleDown, correction: Bool = false
    ) {
        let emojis = counts.compactMap { emoji, count -> EmojiCount? in
            let scaled = scaleDown.scaled(count)
            return scaled > 0 ? EmojiCount(emoji: emoji, count: count, scaled: scaled) : nil
        }
        self.init(
            channel: channel, seq: seq, windowStart: windowStart, windowEnd: windowEnd,
            total: counts.values.reduce(0, +), emojis: emojis, correction: correction)
    }

    enum CodingKeys: String, CodingKey {
        case type
        case channel
        case seq
        case windowStart = "window_start"
        case windowEnd = "window_end"
        case total
        case emojis
        case correction
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("burst", forKey: .type)
        try container.encode(channel, forKey: .channel)
        try container.encode(seq, forKey: .seq)
        try container.encode(ISO8601Millis.format(windowStart), forKey: .windowStart)
        try container.encode(ISO8601Millis.format(windowEnd), forKey: .windowEnd)
        try container.encode(total, forKey: .total)
        try container.encode(emojis, forKey: .emojis)
        if correction { try container.encode(true, forKey: .correction) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        channel = try container.decodeIfPresent(String.self, forKey: .channel) ?? ChannelName.defaultName
        seq = try container.decode(UInt64.self, forKey: .seq)
        let start = try container.decode(String.self, forKey: .windowStart)
        let end = try container.decode(String.self, forKey: .windowEnd)
        guard let startMillis = ISO8601Millis.parse(start), let endMillis = ISO8601Millis.parse(end) else {
            throw DecodingError.dataCorruptedError(
                forKey: .windowStart, in: container, debugDescription: "window bounds must be ISO-8601")
        }
        windowStart = startMillis
        windowEnd = endMillis
        total = try container.decode(Int.self, forKey: .total)
        emojis = try container.decode([EmojiCount].self, forKey: .emojis)
        correction = try container.decodeIfPresent(Bool.self, forKey: .correction) ?? false
    }

    /// The JSON text frame sent to viewers, fields in a fixed order (`type` first).
    public func jsonText() -> String {
        var text = #"{"type":"burst","channel":"# + JSONText.quoted(channel) + #","seq":"# + String(seq)
        text += #","window_start":""# + ISO8601Millis.format(windowStart) + #"","window_end":""#
        text += ISO8601Millis.format(windowEnd) + #"","total":"# + String(total) + #","emojis":["#
        for (index, entry) in emojis.enumerated() {
            if index > 0 { text += "," }
            text += #"{"emoji_type":"# + JSONText.quoted(entry.emoji) + #","count":"# + String(entry.count)
            text += #","scaled":"# + String(entry.scaled) + "}"
        }
        return text + (correction ? #"],"correction":true}"# : "]}")
    }
}

/// Minimal JSON string quoting for hand-written messages on hot paths.
public enum JSONText {
    public static func quoted(_ string: String) -> String {
        var result = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
