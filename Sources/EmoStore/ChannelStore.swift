import Foundation

/// The registry of channels (see ``EmoStore``); ``ChannelRegistry`` caches it in each process.
public protocol ChannelStore: Sendable {
    /// Registers a channel (`emostream channels add`). Returns `false` when it was registered already.
    @discardableResult
    func addChannel(name: String, now: Date) async throws -> Bool
    /// Registers every name not registered yet, in one step (channels created on first use). Idempotent.
    func ensureChannels(_ names: [String], now: Date) async throws
    func channel(named name: String) async throws -> ChannelRecord?
    /// All registered channels, ordered by name.
    func listChannels() async throws -> [ChannelRecord]
    /// Unregisters a channel (its viewers keep watching). Returns `false` when there was no such channel.
    func removeChannel(named name: String) async throws -> Bool
}
