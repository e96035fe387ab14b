/// Validation and normalisation of the `emoji_type` of a reaction.
///
/// Any single emoji grapheme is accepted (including ZWJ sequences, skin tones, flags and keycaps), as are the
/// catalogue aliases, which are normalised to their glyph.
public enum Emoji {
    /// Catalogue aliases → glyph. The original system's two (happy, sad) plus the common reactions.
    public static let aliases: [String: String] = [
        "happy": "😀",
        "sad": "😢",
        "angry": "😠",
        "love": "❤️",
        "laugh": "😂",
        "fire": "🔥",
        "clap": "👏",
        "wow": "😮",
        "thumbsup": "👍",
        "party": "🎉",
    ]

    /// Returns the normalised glyph for `value`, or `nil` when it is neither an alias nor a single emoji.
    public static func normalize(_ value: String) -> String? {
        if let glyph = aliases[value.lowercased()] {
            return glyph
        }
        return isSingleEmoji(value) ? value : nil
    }

    /// True when `value` is exactly one extended grapheme cluster that renders as an emoji.
    public static func isSingleEmoji(_ value: String) -> Bool {
        guard value.count == 1, let character = value.first else { return false }
        let scalars = Array(character.unicodeScalars)
        guard let first = scalars.first, scalars.count <= 16 else { return false }
        // Flags: a pair of regional indicators.
        if scalars.count == 2, scalars.allSatisfy({ (0x1F1E6...0x1F1FF).contains($0.value) }) {
            return true
        }
        // Keycaps: [0-9#*] FE0F? 20E3.
        if scalars.last?.value == 0x20E3 {
            return first.properties.isEmoji && scalars.count <= 3
        }
        // Everything else must be made of emoji scalars, modifiers, joiners, variation selectors and tags.
        for scalar in scalars {
            let props = scalar.properties
            let allowed =
                props.isEmoji || props.isEmojiModifier || scalar.value == 0x200D || scalar.value == 0xFE0F
                || (0xE0020...0xE007F).contains(scalar.value)
            if !allowed { return false }
        }
        // ASCII digits, '#' and '*' are `isEmoji` (keycap bases) but are not emoji on their own.
        guard first.value > 0x7F else { return false }
        if first.properties.isEmojiPresentation { return true }
        // Text-default symbols (e.g. ❤ U+2764, ☺) count when asked for emoji presentation or when part of a sequence.
        return scalars.count > 1 || first.properties.isEmoji
    }
}
