import ArgumentParser
import EmoHTTP
import EmoStreamApp

/// Where a server command listens, what each of its HTTP listeners lets a client do, and `--tls-cert`/`--tls-key`,
/// which put them behind TLS.
struct HostOptions: ParsableArguments {
    @Option(help: Setting.host.help("Address to listen on"))
    var host: String = Setting.host.value(defaults.host)

    @Option(help: Setting.maxConnections.help("Connections each HTTP listener holds at once; more are answered 503 too_many_connections and closed; 0: the open-file limit less 256"))
    var maxConnections: Int = Setting.maxConnections.value(defaults.listener.maxConnections)

    @Option(help: Setting.maxConnectionRate.help("New connections per second each HTTP listener accepts (bursts of one second's worth); more are answered 503 connection_rate; 0: unlimited"))
    var maxConnectionRate: Int = Setting.maxConnectionRate.value(defaults.listener.maxConnectionRate)

    @Option(help: Setting.headerTimeout.help("Time a client has to send a request's head after connecting; also how long an idle keep-alive connection is kept (slow or missing headers: 408 request_timeout)"))
    var headerTimeout: DurationArgument = Setting.headerTimeout.value(DurationArgument(defaults.listener.headerTimeout))

    @Option(help: Setting.bodyTimeout.help("Time a client has to send a request's body after its head (408 request_timeout)"))
    var bodyTimeout: DurationArgument = Setting.bodyTimeout.value(DurationArgument(defaults.listener.bodyTimeout))

    @Option(help: Setting.tlsCert.help("PEM certificate chain: serve HTTPS (and WSS) on every listener of the process; needs --tls-key", valueName: "path"))
    var tlsCert: String? = Setting.tlsCert.string

    @Option(help: Setting.tlsKey.help("PEM private key of --tls-cert", valueName: "path"))
    var tlsKey: String? = Setting.tlsKey.string

    func validate() throws {
        guard maxConnections >= 0 else { throw ValidationError("--max-connections must be 0 or more") }
        guard maxConnectionRate >= 0 else { throw ValidationError("--max-connection-rate must be 0 or more") }
        guard headerTimeout.duration > .zero, bodyTimeout.duration > .zero else {
            throw ValidationError("--header-timeout and --body-timeout must be longer than 0")
        }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// Sets the listen address and the listener limits, and loads the TLS files (failing at start-up, not at the first
    /// connection).
    func apply(to configuration: inout EmoStreamConfiguration) throws {
        configuration.host = host
        configuration.listener = ListenerLimits(
            maxConnections: maxConnections, maxConnectionRate: maxConnectionRate, headerTimeout: headerTimeout.duration,
            bodyTimeout: bodyTimeout.duration)
        if let tlsCert, let tlsKey {
            do {
                configuration.tls = try TLSSettings(certificatePath: tlsCert, privateKeyPath: tlsKey)
            } catch {
                throw RuntimeError("cannot use --tls-cert \(tlsCert) and --tls-key \(tlsKey): \(error)")
            }
        }
    }
}
