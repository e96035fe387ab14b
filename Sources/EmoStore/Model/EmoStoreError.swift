/// Errors the store reports as part of its contract (database failures are rethrown as they are).
public enum EmoStoreError: Error, Equatable, Sendable {
    /// ``AccountStore/createUser(name:passwordHash:tier:now:)`` with a name that exists.
    case nameTaken
    /// An argument the store cannot accept, e.g. a negative node capacity.
    case invalidArgument(String)
    /// A value read back from the database could not be understood (e.g. a tier outside 1...3).
    case corruptRow(String)
    /// A `postgres://` URL that cannot be used.
    case invalidDatabaseURL(String)
    /// The store was closed.
    case closed
    /// The database cannot be reached or did not answer in time (e.g. PostgreSQL restarting); worth retrying.
    case unavailable(String)
}
