import Foundation
import ArgumentParser
import EmoStreamApp

/// Browser access and login throttling of the API (`up`, `gateway`).
struct GatewaySecurityOptions: ParsableArguments {
    @Option(help: Setting.corsOrigins.help("Origins allowed to call the API from a browser with credentials, comma-separated (https://emo.example,http://localhost:3000); without it, none", valueName: "origins"))
    var corsOrigins: String? = Setting.corsOrigins.string

    @Option(help: Setting.loginNameFailures.help("Failed logins of one name before its logins get 429 login_throttled; 0 = no limit"))
    var loginNameFailures: Int = Setting.loginNameFailures.value(defaults.gateway.loginThrottle.failuresPerName)

    @Option(help: Setting.loginAddressFailures.help("Failed logins from one client address before its logins get 429 login_throttled; 0 = no limit"))
    var loginAddressFailures: Int = Setting.loginAddressFailures.value(defaults.gateway.loginThrottle.failuresPerAddress)

    @Option(help: Setting.loginMaxBackoff.help("Longest wait of a throttled login (the wait starts at 1s and doubles with each further failure)"))
    var loginMaxBackoff: DurationArgument = Setting.loginMaxBackoff.value(DurationArgument(defaults.gateway.loginThrottle.maxBackoff))

    @Option(help: Setting.loginThrottleEntries.help("Names and addresses the login throttle remembers (each; the least recently used are forgotten)"))
    var loginThrottleEntries: Int = Setting.loginThrottleEntries.value(defaults.gateway.loginThrottle.capacity)

    var origins: [String] {
        (corsOrigins ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func validate() throws {
        guard loginNameFailures >= 0, loginAddressFailures >= 0 else {
            throw ValidationError("--login-name-failures and --login-address-failures must not be negative")
        }
        guard loginMaxBackoff.milliseconds >= 1000 else { throw ValidationError("--login-max-backoff must be at least 1s") }
        guard (1...10_000_000).contains(loginThrottleEntries) else {
            throw ValidationError("--login-throttle-entries must be within 1...10000000")
        }
        for origin in origins where !(origin.hasPrefix("http://") || origin.hasPrefix("https://")) || origin == "*" {
            throw ValidationError("--cors-origins takes origins such as https://emo.example, not '\(origin)'")
        }
    }

    func apply(to configuration: inout EmoStreamConfiguration) {
        configuration.gateway.server.corsOrigins = origins
        configuration.gateway.loginThrottle.failuresPerName = loginNameFailures
        configuration.gateway.loginThrottle.failuresPerAddress = loginAddressFailures
        configuration.gateway.loginThrottle.maxBackoff = loginMaxBackoff.duration
        configuration.gateway.loginThrottle.capacity = loginThrottleEntries
    }
}
