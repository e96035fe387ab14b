import ArgumentParser
import EmoStreamApp

/// The defaults of every flag: the components' own (see ``EmoStreamConfiguration``).
let defaults = EmoStreamConfiguration()

/// Accounts, tokens and placement settings shared by `up`, `gateway` and `node`.
struct AccountOptions: ParsableArguments {
    @Option(help: Setting.databaseURL.help("PostgreSQL URL (postgres://user:pass@host:port/db) for a shared store; without it, SQLite in the data dir"))
    var databaseURL: String? = Setting.databaseURL.string

    @Option(help: Setting.secret.help("Token-signing secret, at least 16 characters; without it one is generated and kept in the data dir. Every gateway and node of a fleet needs the same one", valueName: "secret"))
    var secret: String? = Setting.secret.string

    @Option(help: Setting.tokenTTL.help("Lifetime of login tokens, e.g. 12h"))
    var tokenTTL: DurationArgument = Setting.tokenTTL.value(DurationArgument(defaults.gateway.tokenLifetime))

    @Option(help: Setting.ticketTTL.help("How long a viewer ticket may wait to be used"))
    var ticketTTL: DurationArgument = Setting.ticketTTL.value(DurationArgument(defaults.gateway.placement.ticketLifetime))

    @Option(help: Setting.nodeTTL.help("A node silent for this long gets no viewers and loses its sessions"))
    var nodeTTL: DurationArgument = Setting.nodeTTL.value(DurationArgument(defaults.nodeTTL))

    @Option(help: Setting.adminPassword.help("Operator password of the /admin page; without it the page is off", valueName: "password"))
    var adminPassword: String? = Setting.adminPassword.string

    @Option(help: Setting.bcryptCost.help("bcrypt cost of password hashes, 4-16"))
    var bcryptCost: Int = Setting.bcryptCost.value(Int(defaults.gateway.bcryptCost))

    @Flag(
        inversion: .prefixedNo,
        help: Setting.channelsClosed.help(
            "Accept reactions and viewers only for channels created with `emostream channels add`; otherwise a channel is created when first used",
            flag: true))
    var channelsClosed: Bool = Setting.channelsClosed.bool

    func validate() throws {
        guard (4...16).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be within 4...16") }
        if let secret, secret.count < 16 { throw ValidationError("--secret must be at least 16 characters") }
        if let adminPassword, adminPassword.count < 8 { throw ValidationError("--admin-password must be at least 8 characters") }
        guard nodeTTL.milliseconds >= 1000 else { throw ValidationError("--node-ttl must be at least 1s") }
        if let databaseURL, !databaseURL.hasPrefix("postgres://"), !databaseURL.hasPrefix("postgresql://") {
            throw ValidationError("--database-url must be a postgres:// URL")
        }
    }

    /// Sets the store's and the gateway's parts of `configuration`.
    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.store.databaseURL = databaseURL
        configuration.store.secret = secret
        configuration.store.channelsClosed = channelsClosed
        configuration.gateway.tokenLifetime = tokenTTL.duration
        configuration.gateway.placement.ticketLifetime = ticketTTL.duration
        configuration.nodeTTL = nodeTTL.duration
        configuration.gateway.bcryptCost = UInt8(bcryptCost)
        configuration.gateway.adminPassword = adminPassword
    }
}
