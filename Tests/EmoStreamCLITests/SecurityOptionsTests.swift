import ArgumentParser
import EmoStreamApp
import Testing

@testable import EmoStreamCLI

/// The security flags reach the configuration the commands build.
extension CommandLineTests {
@Suite struct SecurityOptionsTests {
    @Test func corsOriginsAndLoginThrottleFlagsSetTheGatewayConfiguration() throws {
        let command = try UpCommand.parse([
            "--cors-origins", "https://emo.example, http://localhost:3000", "--login-name-failures", "3",
            "--login-address-failures", "0", "--login-max-backoff", "2m", "--login-throttle-entries", "1000",
        ])
        var configuration = EmoStreamConfiguration()
        command.security.apply(to: &configuration)
        #expect(configuration.gateway.server.corsOrigins == ["https://emo.example", "http://localhost:3000"])
        #expect(configuration.gateway.loginThrottle.failuresPerName == 3)
        #expect(configuration.gateway.loginThrottle.failuresPerAddress == 0)
        #expect(configuration.gateway.loginThrottle.maxBackoff == .seconds(120))
        #expect(configuration.gateway.loginThrottle.capacity == 1000)
    }

    @Test func theDefaultsAreTheThrottleOfTheIssueAndNoCORS() throws {
        var configuration = EmoStreamConfiguration()
        try GatewayCommand.parse([]).security.apply(to: &configuration)
        #expect(configuration.gateway.server.corsOrigins.isEmpty)
        #expect(configuration.gateway.loginThrottle.failuresPerName == 5)
        #expect(configuration.gateway.loginThrottle.failuresPerAddress == 30)
        #expect(configuration.gateway.loginThrottle.maxBackoff == .seconds(300))
        #expect(configuration.gateway.loginThrottle.capacity == 65_536)
        #expect(configuration.tls == nil)
    }

    @Test(arguments: [
        ["--cors-origins", "*"], ["--cors-origins", "emo.example"], ["--login-name-failures", "-1"],
        ["--login-max-backoff", "500ms"], ["--tls-cert", "cert.pem"], ["--tls-key", "key.pem"],
    ])
    func badSecurityFlagsAreRefused(arguments: [String]) {
        #expect(throws: (any Error).self) { try UpCommand.parse(arguments) }
    }

    @Test func missingTLSFilesFailAtStartUpWithTheirPaths() throws {
        let command = try IngestCommand.parse(["--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])
        var configuration = EmoStreamConfiguration()
        #expect {
            try command.host.apply(to: &configuration)
        } throws: { error in
            "\(error)".contains("/nonexistent/cert.pem")
        }
    }
}
}
