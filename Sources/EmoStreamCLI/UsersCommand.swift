import Accounts
import ArgumentParser
import EmoStore
import EmoStreamApp
import Foundation
import Logging
import ServiceLifecycle

/// Operator commands on the accounts store.
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users", abstract: "Manage user accounts (add, list, remove, set-tier).",
        subcommands: [Add.self, List.self, Remove.self, SetTier.self])

    struct StoreOptions: ParsableArguments {
        @Option(help: Setting.dataDir.help("Directory holding the SQLite store"))
        var dataDir: String = Setting.dataDir.value(defaults.dataDirectory)

        @Option(help: Setting.databaseURL.help("PostgreSQL URL of a shared store"))
        var databaseURL: String? = Setting.databaseURL.string

        /// Runs `body` with the store open (and its schema migrated), then closes it.
        func withStore<T: Sendable>(_ body: @escaping @Sendable (any EmoStore) async throws -> T) async throws -> T {
            let logger = Logger(label: "emostream.users", factory: { _ in SwiftLogNoOpLogHandler() })
            let store = try StoreFactory.make(databaseURL: databaseURL, dataDirectory: dataDir, logger: logger)
            let group = ServiceGroup(configuration: .init(services: [store], logger: logger))
            return try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                do {
                    try await store.migrate()
                    let result = try await body(store)
                    await group.triggerGracefulShutdown()
                    try await tasks.waitForAll()
                    return result
                } catch {
                    await group.triggerGracefulShutdown()
                    try? await tasks.waitForAll()
                    throw error
                }
            }
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a user. The password is read from standard input (one line), never from the command line.")

        @Argument(help: "User name: 3-32 characters of A-Z a-z 0-9 _ . -")
        var name: String

        @Option(help: "Tier: 1 (5 devices), 2 (2 devices) or 3 (1 device).")
        var tier: Int = 3

        @Option(help: "bcrypt cost.")
        var bcryptCost: Int = 10

        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard AccountRules.isValidName(name) else { throw ValidationError("name must be 3-32 characters of A-Z a-z 0-9 _ . -") }
            guard Tier(rawValue: tier) != nil else { throw ValidationError("--tier must be 1, 2 or 3") }
            guard (4...16).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be within 4...16") }
        }

        func run() async throws {
            if isatty(STDIN_FILENO) != 0 {
                FileHandle.standardError.write(Data("Password for \(name): ".utf8))
            }
            guard let password = readLine(strippingNewline: true), AccountRules.isValidPassword(password) else {
                throw ValidationError("the password (from standard input) must be 8-72 bytes")
            }
            let hash = try await PasswordHasher(cost: UInt8(bcryptCost)).hash(password)
            let name = name
            let tier = Tier(rawValue: tier)!
            do {
                _ = try await store.withStore { try await $0.createUser(name: name, passwordHash: hash, tier: tier) }
            } catch EmoStoreError.nameTaken {
                throw RuntimeError("the name '\(name)' is taken")
            }
            print("added \(name) (tier \(tier.rawValue), up to \(tier.maxDevices) device(s))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with their tiers.")
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let users = try await store.withStore { try await $0.listUsers() }
            print("name\ttier\tmax_devices\tcreated")
            for user in users {
                print("\(user.name)\t\(user.tier.rawValue)\t\(user.tier.maxDevices)\t\(ISO8601DateFormatter().string(from: user.createdAt))")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a user and end their sessions.")
        @Argument var name: String
        @OptionGroup var store: StoreOptions

        func run() async throws {
            let name = name
            guard try await store.withStore({ try await $0.removeUser(named: name) }) else {
                throw RuntimeError("no user named '\(name)'")
            }
            print("removed \(name)")
        }
    }

    struct SetTier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-tier", abstract: "Change a user's tier.")
        @Argument var name: String
        @Argument(help: "1, 2 or 3") var tier: Int
        @OptionGroup var store: StoreOptions

        func validate() throws {
            guard Tier(rawValue: tier) != nil else { throw ValidationError("tier must be 1, 2 or 3") }
        }

        func run() async throws {
            let name = name
            let tier = Tier(rawValue: tier)!
            guard try await store.withStore({ try await $0.setTier(name: name, tier: tier) }) else {
                throw RuntimeError("no user named '\(name)'")
            }
            print("\(name) is now tier \(tier.rawValue) (up to \(tier.maxDevices) device(s))")
        }
    }
}
