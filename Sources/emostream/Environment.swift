import ArgumentParser
import EmoCore
import Foundation

/// Every flag has an environment variable `EMOSTREAM_<FLAG>`; the flag wins when both are given.
enum Env {
    static func string(_ name: String) -> String? {
        ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
    }

    static func int(_ name: String, _ fallback: Int) -> Int {
        string(name).flatMap(Int.init) ?? fallback
    }

    /// `1`, `true`, `yes` or `on` (any case) is true; anything else, or unset, is false.
    static func bool(_ name: String) -> Bool {
        guard let text = string(name)?.lowercased() else { return false }
        return ["1", "true", "yes", "on"].contains(text)
    }

    static func value<T: ExpressibleByArgument>(_ name: String, _ fallback: T) -> T {
        string(name).flatMap(T.init(argument:)) ?? fallback
    }
}

/// A duration flag: `2s`, `500ms`, `1.5s`, `1m`, or a plain number of seconds.
struct DurationArgument: ExpressibleByArgument, CustomStringConvertible, Sendable {
    var duration: Duration

    init(_ duration: Duration) {
        self.duration = duration
    }

    init?(argument: String) {
        let text = argument.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Double(text.dropLast(suffix.count)), value > 0 else { return nil }
            duration = .milliseconds(Int64((value * factor * 1000).rounded()))
            return
        }
        guard let seconds = Double(text), seconds > 0 else { return nil }
        duration = .milliseconds(Int64((seconds * 1000).rounded()))
    }

    var milliseconds: Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    var description: String {
        if milliseconds % 3_600_000 == 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds >= 60_000 { return "\(milliseconds / 60_000)m" }
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}

extension ScaleDown.Mode: ExpressibleByArgument {}
