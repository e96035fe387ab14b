import Foundation

/// Milliseconds since the Unix epoch: the time unit of every timestamp inside EmoStream.
public typealias EpochMillis = Int64

extension EpochMillis {
    /// The current wall-clock time.
    public static func now() -> EpochMillis {
        EpochMillis((Date().timeIntervalSince1970 * 1000).rounded(.down))
    }
}

/// Parses and formats ISO-8601 / RFC 3339 timestamps without Foundation's formatters (which are slow and
/// locale-sensitive): `2026-11-29T06:00:00Z`, `2026-11-29T06:00:00.123Z`, `2026-11-29T07:00:00.5+01:00`.
public enum ISO8601Millis {
    public static func parse(_ text: String) -> EpochMillis? {
        let bytes = Array(text.utf8)
        var index = 0

        func digits(_ count: Int) -> Int? {
            guard index + count <= bytes.count else { return nil }
            var value = 0
            for offset in 0..<count {
                let byte = bytes[index + offset]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
            }
            index += count
            return value
        }
        func expect(_ characters: UInt8...) -> Bool {
            guard index < bytes.count, characters.contains(bytes[index]) else { return false }
            index += 1
            return true
        }

        guard let year = digits(4), expect(0x2D), let month = digits(2), expect(0x2D), let day = digits(2),
            expect(0x54, 0x74, 0x20), let hour = digits(2), expect(0x3A), let minute = digits(2), expect(0x3A),
            let second = digits(2)
        else { return nil }
        guard (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day), hour < 24, minute < 60,
            second < 61
        else { return nil }

        var millis = 0
        if index < bytes.count, bytes[index] == 0x2E {
            index += 1
            var fractionDigits = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if fractionDigits < 3 { millis = millis * 10 + Int(bytes[index] - 0x30) }
                fractionDigits += 1
                index += 1
            }
            guard fractionDigits > 0, fractionDigits <= 9 else { return nil }
            if fractionDigits < 3 {
                for _ in fractionDigits..<3 { millis *= 10 }
            }
        }

        var offsetSeconds = 0
        guard index < bytes.count else { return nil }
        if bytes[index] == 0x5A || bytes[index] == 0x7A {
            index += 1
        } else if bytes[index] == 0x2B || bytes[index] == 0x2D {
            let sign = bytes[index] == 0x2D ? -1 : 1
            index += 1
            guard let offsetHours = digits(2), expect(0x3A), let offsetMinutes = digits(2), offsetHours < 24,
                offsetMinutes < 60
            else { return nil }
            offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60)
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }

        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offsetSeconds
        return EpochMillis(seconds) * 1000 + EpochMillis(millis)
    }

    /// `2026-11-29T06:00:00.123Z` (always UTC, always milliseconds).
    public static func format(_ millis: EpochMillis) -> String {
        let totalSeconds = Int(millis.floorDiv(1000))
        let ms = Int(millis - EpochMillis(totalSeconds) * 1000)
        let days = totalSeconds.floorDiv(86_400)
        let secondsOfDay = totalSeconds - days * 86_400
        let (year, month, day) = civilFromDays(days)
        return String(year, padTo: 4) + "-" + String(month, padTo: 2) + "-" + String(day, padTo: 2) + "T"
            + String(secondsOfDay / 3600, padTo: 2) + ":" + String(secondsOfDay % 3600 / 60, padTo: 2) + ":"
            + String(secondsOfDay % 60, padTo: 2) + "." + String(ms, padTo: 3) + "Z"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

extension BinaryInteger {
    /// Division rounding towards negative infinity.
    @inlinable
    public func floorDiv(_ divisor: Self) -> Self {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}

extension String {
    init(_ value: Int, padTo width: Int) {
        let digits = String(value)
        self = digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
