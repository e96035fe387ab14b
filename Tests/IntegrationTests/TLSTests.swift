import AsyncHTTPClient
import EmoHTTP
import EmoStreamApp
import Foundation
import HummingbirdWSClient
import NIOCore
import NIOHTTP1
import NIOSSL
import Testing

/// `--tls-cert`/`--tls-key`: a whole `emostream up` behind TLS, with a certificate made by `openssl` for this test,
/// used by real TLS clients (AsyncHTTPClient, and the WebSocket client) that trust only that certificate.
@Suite(.serialized) struct TLSTests {
    /// A self-signed certificate for 127.0.0.1 and localhost, and its key, in a directory of the test's own.
    struct TestCertificate {
        let directory: URL
        var certificate: String { directory.appendingPathComponent("cert.pem").path }
        var key: String { directory.appendingPathComponent("key.pem").path }

        static func make() throws -> TestCertificate {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("emostream-tls-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let made = TestCertificate(directory: directory)
            let openssl = Process()
            openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            openssl.arguments = [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", made.key, "-out", made.certificate, "-days", "1", "-subj", "/CN=127.0.0.1",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
            ]
            openssl.standardOutput = FileHandle.nullDevice
            openssl.standardError = FileHandle.nullDevice
            try openssl.run()
            openssl.waitForExit()
            guard openssl.terminationStatus == 0 else { throw OpenSSLFailed(status: openssl.terminationStatus) }
            return made
        }

        /// A client configuration that trusts this certificate only (hostname verified).
        func clientTLS() throws -> TLSConfiguration {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(certificate))
            return configuration
        }
    }

    struct OpenSSLFailed: Error {
        var status: Int32
    }

    @Test func everyListenerServesHTTPSAndTheNodesHandOutSecureURLs() async throws {
        let certificate = try TestCertificate.make()
        defer { try? FileManager.default.removeItem(at: certificate.directory) }
        let tls = try TLSSettings(certificatePath: certificate.certificate, privateKeyPath: certificate.key)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(tlsConfiguration: try certificate.clientTLS()))
        do {
            try await withSystem(nodes: 1) { endpoints in
                #expect(endpoints.api.hasPrefix("https://"))
                func call(_ method: HTTPMethod, _ url: String, body: String? = nil, bearer: String? = nil) async throws -> (
                    HTTPClientResponse, String
                ) {
                    var request = HTTPClientRequest(url: url)
                    request.method = method
                    if let body {
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: body))
                    }
                    if let bearer { request.headers.add(name: "Authorization", value: "Bearer \(bearer)") }
                    let response = try await client.execute(request, timeout: .seconds(30))
                    return (response, String(buffer: try await response.body.collect(upTo: 1 << 20)))
                }
                let (health, _) = try await call(.GET, endpoints.api + "/healthz")
                #expect(health.status == .ok)
                #expect(health.headers.first(name: "x-frame-options") == "DENY")

                let (registered, _) = try await call(
                    .POST, endpoints.api + "/api/register", body: #"{"name":"tls-user","password":"correct horse","tier":1}"#)
                #expect(registered.status == .created)
                let (_, loginText) = try await call(.POST, endpoints.api + "/api/login", body: #"{"name":"tls-user","password":"correct horse"}"#)
                let token = try #require((try JSONSerialization.jsonObject(with: Data(loginText.utf8)) as? [String: Any])?["token"] as? String)

                // The nodes hand out wss:// and https:// URLs, and serve them.
                let (_, sseText) = try await call(.POST, endpoints.api + "/api/connect", bearer: token)
                let sse = try #require(try JSONSerialization.jsonObject(with: Data(sseText.utf8)) as? [String: Any])
                let sseURL = try #require(sse["sse_url"] as? String)
                #expect(sseURL.hasPrefix("https://"))
                #expect((sse["ws_url"] as? String)?.hasPrefix("wss://") == true)
                let (sseInbox, sseTask) = connectSSE(sseURL, client: client)
                #expect(try await sseInbox.next().type == "hello")
                sseTask.cancel()

                let (_, wsText) = try await call(.POST, endpoints.api + "/api/connect", bearer: token)
                let wsURL = try #require((try JSONSerialization.jsonObject(with: Data(wsText.utf8)) as? [String: Any])?["ws_url"] as? String)
                let clientTLS = try certificate.clientTLS()
                let hello = try await withTimeout {
                    let (stream, continuation) = AsyncStream.makeStream(of: String.self)
                    try await WebSocketClient.connect(url: wsURL, tlsConfiguration: clientTLS, logger: quietLogger) { inbound, outbound, _ in
                        for try await message in inbound.messages(maxSize: 1 << 16) {
                            if case .text(let text) = message {
                                continuation.yield(text)
                                break
                            }
                        }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    continuation.finish()
                    return await stream.first { _ in true }
                }
                #expect(try ViewerMessage(try #require(hello)).type == "hello")

                // A client that does not trust the certificate (the system's roots only) is refused.
                await #expect(throws: (any Error).self) {
                    _ = try await HTTPClient.shared.execute(HTTPClientRequest(url: endpoints.api + "/healthz"), timeout: .seconds(2))
                }
                // Closes its connections before the servers stop (they would wait up to 5 s for TLS close_notify).
                try await client.shutdown()
            } configure: { configuration in
                configuration.tls = tls
                // A name, not an IP address: TLS clients send the host as SNI, which cannot be an IP address.
                configuration.publicHost = "localhost"
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func aKeyThatDoesNotMatchTheCertificateFailsAtStartUp() throws {
        let first = try TestCertificate.make()
        let second = try TestCertificate.make()
        defer {
            try? FileManager.default.removeItem(at: first.directory)
            try? FileManager.default.removeItem(at: second.directory)
        }
        #expect(throws: (any Error).self) { try TLSSettings(certificatePath: first.certificate, privateKeyPath: second.key) }
        #expect(throws: (any Error).self) { try TLSSettings(certificatePath: first.directory.appendingPathComponent("none.pem").path, privateKeyPath: first.key) }
        _ = try TLSSettings(certificatePath: first.certificate, privateKeyPath: first.key)
    }
}
