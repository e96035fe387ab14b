/// Persistent state of EmoStream: accounts, cluster nodes and viewer sessions, and channels.
///
/// Two implementations share these semantics: ``SQLiteEmoStore`` (one file, the embedded default) and
/// ``PostgresEmoStore`` (shared by a fleet of gateway and node processes).
///
/// Time is always passed in (`now`), so callers and tests control the clock; the store never reads it.
///
/// Users depend on the part they call: ``AccountStore``, ``PlacementStore``, ``ChannelStore`` or
/// ``SchemaMigrating``; only code that opens a store needs the whole of it.
public protocol EmoStore: AccountStore, PlacementStore, ChannelStore, SchemaMigrating {}
