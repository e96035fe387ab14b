import ArgumentParser
import EmoStreamApp

/// `--host`, the address a process's servers listen on.
struct HostOptions: ParsableArguments {
    @Option(help: Setting.host.help("Address to listen on"))
    var host: String = Setting.host.value(defaults.host)

    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.host = host
    }
}
