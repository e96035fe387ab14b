/// A store whose schema must be created or upgraded before it is used (see ``EmoStore``).
public protocol SchemaMigrating: Sendable {
    /// Creates or upgrades the schema. Idempotent; safe to call from several processes at once.
    func migrate() async throws
}
