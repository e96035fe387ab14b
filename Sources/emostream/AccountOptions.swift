import ArgumentParser
import EmoStreamApp

/// Accounts, tokens and placement settings shared by `up`, `gateway` and `node`.
struct AccountOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (postgres://user:pass@host:port/db) for a shared store; default: SQLite in the data dir (env: EMOSTREAM_DATABASE_URL).")
    var databaseURL: String? = Env.string("EMOSTREAM_DATABASE_URL")

    @Option(help: ArgumentHelp("Token-signing secret, at least 16 characters; default: generated and kept in the data dir. Every gateway and node of a fleet needs the same one (env: EMOSTREAM_SECRET).", valueName: "secret"))
    var secret: String? = Env.string("EMOSTREAM_SECRET")

    @Option(help: "Lifetime of login tokens, e.g. 12h (env: EMOSTREAM_TOKEN_TTL).")
    var tokenTTL: DurationArgument = Env.value("EMOSTREAM_TOKEN_TTL", DurationArgument(.seconds(12 * 3600)))

    @Option(help: "How long a viewer ticket may wait to be used (env: EMOSTREAM_TICKET_TTL).")
    var ticketTTL: DurationArgument = Env.value("EMOSTREAM_TICKET_TTL", DurationArgument(.seconds(30)))

    @Option(help: "A node silent for this long gets no viewers and loses its sessions (env: EMOSTREAM_NODE_TTL).")
    var nodeTTL: DurationArgument = Env.value("EMOSTREAM_NODE_TTL", DurationArgument(.seconds(10)))

    @Option(help: ArgumentHelp("Operator password of the /admin page; without it the page is off (env: EMOSTREAM_ADMIN_PASSWORD).", valueName: "password"))
    var adminPassword: String? = Env.string("EMOSTREAM_ADMIN_PASSWORD")

    @Option(help: "bcrypt cost of password hashes, 4-16 (env: EMOSTREAM_BCRYPT_COST).")
    var bcryptCost: Int = Env.int("EMOSTREAM_BCRYPT_COST", 10)

    @Flag(
        inversion: .prefixedNo,
        help: "Accept reactions and viewers only for channels created with `emostream channels add`; otherwise a channel is created when first used (env: EMOSTREAM_CHANNELS_CLOSED=1).")
    var channelsClosed: Bool = Env.bool("EMOSTREAM_CHANNELS_CLOSED")

    func validate() throws {
        guard (4...16).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be within 4...16") }
        if let secret, secret.count < 16 { throw ValidationError("--secret must be at least 16 characters") }
        if let adminPassword, adminPassword.count < 8 { throw ValidationError("--admin-password must be at least 8 characters") }
        guard nodeTTL.milliseconds >= 1000 else { throw ValidationError("--node-ttl must be at least 1s") }
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ValidationError("--database-url must be a postgres:// URL")
        }
    }

    var configuration: AccountsConfiguration {
        var configuration = AccountsConfiguration()
        configuration.databaseURL = databaseURL
        configuration.secret = secret
        configuration.tokenLifetime = tokenTTL.duration
        configuration.ticketLifetime = ticketTTL.duration
        configuration.nodeTTL = nodeTTL.duration
        configuration.heartbeatInterval = min(.seconds(2), nodeTTL.duration / 3)
        configuration.bcryptCost = UInt8(bcryptCost)
        configuration.adminPassword = adminPassword
        configuration.channelsClosed = channelsClosed
        return configuration
    }
}
