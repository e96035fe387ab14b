import ArgumentParser
import Foundation
import Testing

@testable import EmoStreamCLI

/// The README's configuration tables, the commands' `--help` and the code agree: every flag of a server command
/// that has an environment key is in a table row naming that command, with the same key and default, and every row
/// names flags the commands have.
extension CommandLineTests {
@Suite struct ConfigurationTableTests {
    struct Row: CustomStringConvertible {
        var flag: String
        var env: String
        /// The default as written in backticks; nil when the row describes it in words, e.g. "(off)".
        var defaultValue: String?
        var commands: [String]
        var description: String { "\(flag) (\(commands.joined(separator: ", ")))" }
    }

    struct HelpOption {
        var flag: String
        var env: String?
        var defaultValue: String?
    }

    static let commands: [(name: String, type: any ParsableCommand.Type)] = [
        ("up", UpCommand.self), ("ingest", IngestCommand.self), ("processor", ProcessorCommand.self),
        ("publisher", PublisherCommand.self), ("node", NodeCommand.self), ("gateway", GatewayCommand.self),
    ]

    static func readmeRows() throws -> [Row] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        return readme.split(separator: "\n").compactMap { line -> Row? in
            guard line.hasPrefix("| `--") else { return nil }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).dropFirst().map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 5 else { return nil }
            func code(_ cell: String) -> String? {
                guard cell.hasPrefix("`"), cell.hasSuffix("`"), cell.count >= 2 else { return nil }
                return String(cell.dropFirst().dropLast())
            }
            let commands = cells[3].split(separator: ",").compactMap { code($0.trimmingCharacters(in: .whitespaces)) }
            return Row(
                flag: code(cells[0]) ?? cells[0], env: (code(cells[1]) ?? cells[1]).replacingOccurrences(of: "=1", with: ""),
                defaultValue: code(cells[2]), commands: commands)
        }
    }

    /// The flags of `command`'s `--help`, each with the text that follows it (help wraps over several lines).
    static func options(of command: any ParsableCommand.Type) -> [HelpOption] {
        var entries: [String] = []
        for line in EmoStreamCommand.helpMessage(for: command).split(separator: "\n", omittingEmptySubsequences: false) {
            let text = line.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("  --") {
                entries.append(text)
            } else if !text.isEmpty, !entries.isEmpty, line.hasPrefix("   ") {
                entries[entries.count - 1] += " " + text
            }
        }
        return entries.map { text in
            let flag = String(text.prefix { $0 != " " && $0 != "/" })
            /// What follows `marker` while `allowed` holds.
            func value(after marker: String, while allowed: (Character) -> Bool) -> String? {
                guard let range = text.range(of: marker) else { return nil }
                return String(text[range.upperBound...].prefix(while: allowed))
            }
            // `(default: 8)`, `(values: ceil, floor; default: ceil)`; an inverted flag's `--no-…` default is "off".
            let defaultValue = (value(after: "(default: ") { $0 != ")" } ?? value(after: "; default: ") { $0 != ")" })
                .flatMap { $0.hasPrefix("--no-") ? nil : $0 }
            return HelpOption(
                flag: flag, env: value(after: "(env: ") { $0.isUppercase || $0 == "_" }, defaultValue: defaultValue)
        }
    }

    /// `20` and `20.0` are the same number.
    static func same(_ a: String, _ b: String) -> Bool {
        if let x = Double(a), let y = Double(b) { return x == y }
        return a == b
    }

    @Test func everyFlagWithAnEnvironmentKeyIsInTheReadmeAsTheHelpSaysIt() throws {
        let rows = try Self.readmeRows()
        #expect(rows.count >= 30)
        for (name, command) in Self.commands {
            let options = Self.options(of: command)
            #expect(!options.isEmpty, "\(name) --help lists no flags")
            for option in options {
                guard let env = option.env else { continue }
                let row = rows.first { $0.flag == option.flag && $0.commands.contains(name) }
                guard let row else {
                    Issue.record("README has no row for \(option.flag) of `\(name)`")
                    continue
                }
                #expect(row.env == env, "\(row): README says \(row.env), --help says \(env)")
                if let readme = row.defaultValue {
                    #expect(
                        option.defaultValue.map { Self.same($0, readme) } == true,
                        "\(row): README default \(readme), --help default \(option.defaultValue ?? "none")")
                } else {
                    #expect(option.defaultValue == nil, "\(row): --help shows default \(option.defaultValue ?? "")")
                }
            }
        }
    }

    @Test func everyReadmeRowNamesFlagsTheCommandsHave() throws {
        let flags = Dictionary(uniqueKeysWithValues: Self.commands.map { ($0.name, Set(Self.options(of: $0.type).map(\.flag))) })
        for row in try Self.readmeRows() {
            #expect(!row.commands.isEmpty, "\(row.flag): the commands column is empty")
            for command in row.commands {
                #expect(flags[command]?.contains(row.flag) == true, "README: \(row.flag) is not a flag of `\(command)`")
            }
        }
    }

    @Test func everyEnvironmentKeyIsUsedByAFlagAndKeysAreUnique() throws {
        let used = Set(Self.commands.flatMap { Self.options(of: $0.type).compactMap(\.env) })
        for setting in Setting.allCases where setting != .url {
            #expect(used.contains(setting.key), "\(setting.key) is defined but no server command reads it")
        }
        #expect(Set(Setting.allCases.map(\.key)).count == Setting.allCases.count)
    }
}
}
