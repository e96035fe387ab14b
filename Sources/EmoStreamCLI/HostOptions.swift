import ArgumentParser
import EmoHTTP
import EmoStreamApp

/// `--host`, the address a process's servers listen on, and `--tls-cert`/`--tls-key`, which put them behind TLS.
struct HostOptions: ParsableArguments {
    @Option(help: Setting.host.help("Address to listen on"))
    var host: String = Setting.host.value(defaults.host)

    @Option(help: Setting.tlsCert.help("PEM certificate chain: serve HTTPS (and WSS) on every listener of the process; needs --tls-key", valueName: "path"))
    var tlsCert: String? = Setting.tlsCert.string

    @Option(help: Setting.tlsKey.help("PEM private key of --tls-cert", valueName: "path"))
    var tlsKey: String? = Setting.tlsKey.string

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// Sets the listen address and loads the TLS files (failing at start-up, not at the first connection).
    func apply(to configuration: inout EmoStreamConfiguration) throws {
        configuration.host = host
        if let tlsCert, let tlsKey {
            do {
                configuration.tls = try TLSSettings(certificatePath: tlsCert, privateKeyPath: tlsKey)
            } catch {
                throw RuntimeError("cannot use --tls-cert \(tlsCert) and --tls-key \(tlsKey): \(error)")
            }
        }
    }
}
