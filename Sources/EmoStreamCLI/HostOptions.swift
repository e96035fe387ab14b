import ArgumentParser
import EmoHTTP
import EmoStreamApp

/// Where a server command listens, and what each of its HTTP listeners lets a client do.
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

    func validate() throws {
        guard maxConnections >= 0 else { throw ValidationError("--max-connections must be 0 or more") }
        guard maxConnectionRate >= 0 else { throw ValidationError("--max-connection-rate must be 0 or more") }
        guard headerTimeout.duration > .zero, bodyTimeout.duration > .zero else {
            throw ValidationError("--header-timeout and --body-timeout must be longer than 0")
        }
    }

    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.host = host
        configuration.listener = ListenerLimits(
            maxConnections: maxConnections, maxConnectionRate: maxConnectionRate, headerTimeout: headerTimeout.duration,
            bodyTimeout: bodyTimeout.duration)
    }
}
