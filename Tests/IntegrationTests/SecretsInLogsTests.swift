import AsyncHTTPClient
import EmoStreamApp
import Foundation
import NIOHTTP1
import Synchronization
import Testing

import class EmoTestSupport.LogCapture

/// No password, token, ticket or secret is ever written to the logs: a whole `emostream up` system logs at trace level
/// into a capture while a user registers, logs in, fails to log in until throttled, gets tickets and watches over
/// SSE and WebSocket (and reuses a ticket), and the operator logs in and uses the operator token; then the captured
/// text is searched for each secret. On SQLite and on PostgreSQL (whose URL carries a database password).
@Suite(.serialized) struct SecretsInLogsTests {
    enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case sqlite, postgres
        var testDescription: String { rawValue }
    }

    @Test(arguments: Backend.allCases)
    func noSecretAppearsInTheLogs(_ backend: Backend) async throws {
        let capture = LogCapture()
        let password = "pw-Zq8vK-not-for-logs"
        let wrongPassword = "wrong-Xy7Lm-not-for-logs"
        let adminPassword = "operator-Pw9Rt-not-for-logs"
        let databaseURL = backend == .postgres ? try await FleetDatabase.create() : nil
        let secrets = Secrets()
        secrets.add("password", password)
        secrets.add("wrong password", wrongPassword)
        secrets.add("operator password", adminPassword)
        secrets.add("signing secret", testSecret)
        if let databaseURL, let databasePassword = URLComponents(string: databaseURL)?.password {
            secrets.add("database password", databasePassword)
        }

        try await withSystem(nodes: 1, logger: capture.logger(label: "emostream")) { endpoints in
            let api = endpoints.api
            let name = "logs-\(UInt32.random(in: 0...UInt32.max))"
            let registered = try await request(
                .POST, api + "/api/register", body: #"{"name":"\#(name)","password":"\#(password)","tier":1}"#)
            #expect(registered.status == 201)
            let login = try await request(.POST, api + "/api/login", body: #"{"name":"\#(name)","password":"\#(password)"}"#)
            let token = try #require(login.json["token"] as? String)
            secrets.add("session token", token)

            // Failed logins until throttled, and an unknown name.
            var statuses: [Int] = []
            for _ in 0..<6 {
                statuses.append(
                    try await request(.POST, api + "/api/login", body: #"{"name":"\#(name)","password":"\#(wrongPassword)"}"#).status)
            }
            #expect(statuses == [401, 401, 401, 401, 401, 429])
            #expect(try await request(.POST, api + "/api/login", body: #"{"name":"nobody-here","password":"\#(wrongPassword)"}"#).status == 401)

            // Tickets, used over SSE and WebSocket; a used ticket presented again.
            let sseConnect = try await request(.POST, api + "/api/connect", contentType: nil, bearer: token)
            let sseTicket = try #require(sseConnect.json["ticket"] as? String)
            secrets.add("SSE ticket", sseTicket)
            let sseURL = try #require(sseConnect.json["sse_url"] as? String)
            let (sseInbox, sseTask) = connectSSE(sseURL)
            #expect(try await sseInbox.next().type == "hello")
            let reused = try await request(.GET, sseURL, contentType: nil)
            #expect(reused.status == 401)
            sseTask.cancel()

            let wsConnect = try await request(.POST, api + "/api/connect", contentType: nil, bearer: token)
            let wsTicket = try #require(wsConnect.json["ticket"] as? String)
            secrets.add("WebSocket ticket", wsTicket)
            let (wsInbox, wsTask) = connectWebSocket(try #require(wsConnect.json["ws_url"] as? String))
            #expect(try await wsInbox.next().type == "hello")
            wsTask.cancel()

            // A forged and a garbage bearer token.
            let forged = String(token.dropLast(2)) + "xx"
            secrets.add("forged token", forged)
            #expect(try await request(.POST, api + "/api/connect", contentType: nil, bearer: forged).status == 401)

            // The operator: a wrong password, the right one, the token in use.
            #expect(try await request(.POST, api + "/api/admin/login", body: #"{"password":"\#(wrongPassword)"}"#).status == 401)
            let admin = try await request(.POST, api + "/api/admin/login", body: #"{"password":"\#(adminPassword)"}"#)
            let operatorToken = try #require(admin.json["token"] as? String)
            secrets.add("operator token", operatorToken)
            #expect(try await request(.GET, api + "/api/admin/overview", contentType: nil, bearer: operatorToken).status == 200)
        } configure: { configuration in
            configuration.gateway.adminPassword = adminPassword
            configuration.store.databaseURL = databaseURL
        }

        let text = capture.text
        // The capture did record the flows (so that finding nothing means something).
        #expect(capture.count > 10, "\(capture.count) lines")
        #expect(text.contains("user registered"))
        for (what, secret) in secrets.all {
            #expect(!text.contains(secret), "the \(what) appears in the logs")
        }
    }
}

/// The secrets of a test, with what each is; each token also by its signature alone (a log line might cut it).
final class Secrets: Sendable {
    private let entries = Mutex<[(String, String)]>([])

    func add(_ what: String, _ secret: String) {
        entries.withLock { entries in
            entries.append((what, secret))
            if let dot = secret.lastIndex(of: "."), secret.distance(from: dot, to: secret.endIndex) > 16 {
                entries.append((what + " (signature)", String(secret[secret.index(after: dot)...])))
            }
        }
    }

    var all: [(String, String)] { entries.withLock { $0 } }
}
