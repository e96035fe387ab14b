import ArgumentParser
import EmoCore
import EmoStore
import Foundation

/// Operator commands on the channel registry.
struct ChannelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "channels",
        abstract: "Manage channels (add, list, remove): with --channels-closed only registered channels accept reactions and viewers.",
        subcommands: [Add.self, List.self, Remove.self])

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register channels.")

        @Argument(help: "Channel names: 1-64 characters of a-z 0-9 _ -")
        var names: [String]

        @OptionGroup var store: UsersCommand.StoreOptions

        func validate() throws {
            guard !names.isEmpty else { throw ValidationError("name at least one channel") }
            for name in names where !ChannelName.isValid(name) {
                throw ValidationError("'\(name)' is not a channel name: 1-64 characters of a-z 0-9 _ -")
            }
        }

        func run() async throws {
            let names = names
            let added = try await store.withStore { store in
                var added: [Bool] = []
                for name in names { added.append(try await store.addChannel(name: name, now: Date())) }
                return added
            }
            for (name, new) in zip(names, added) {
                print(new ? "added \(name)" : "\(name) exists")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered channels.")
        @OptionGroup var store: UsersCommand.StoreOptions

        func run() async throws {
            let channels = try await store.withStore { try await $0.listChannels() }
            print("name\tcreated")
            for channel in channels {
                print("\(channel.name)\t\(ISO8601DateFormatter().string(from: channel.createdAt))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unregister a channel: with --channels-closed it accepts nothing more (running processes notice within 5 s); its viewers keep watching.")
        @Argument var name: String
        @OptionGroup var store: UsersCommand.StoreOptions

        func run() async throws {
            let name = name
            guard try await store.withStore({ try await $0.removeChannel(named: name) }) else {
                throw RuntimeError("no channel named '\(name)'")
            }
            print("removed \(name)")
        }
    }
}
