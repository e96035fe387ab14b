import Accounts
import EmoStore
import EmoTestSupport
import Foundation
import Logging
import Gateway
import Hummingbird
import HummingbirdTesting
import NIOCore
import Prometheus
import Testing


let testSigner = TokenSigner(secret: Array("gateway-tests-secret-0123456789abcdef".utf8))


/// An `APIGateway` as `emostream gateway` builds it, over `store`, tested through its server's router.
func withGateway<T: Sendable>(
    store: SQLiteEmoStore, configure: (inout APIGateway.Configuration) -> Void = { _ in },
    _ test: @escaping @Sendable (any TestClientProtocol, APIGateway) async throws -> T
) async throws -> T {
    var configuration = APIGateway.Configuration()
    configuration.server.port = 0
    configuration.bcryptCost = 4
    configure(&configuration)
    let gateway = try APIGateway(
        configuration: configuration,
        dependencies: .init(
            store: store, signer: testSigner, channels: nil, registry: PrometheusCollectorRegistry(), logger: quietLogger))
    // The server is the last of the gateway's services (after the channel activity and the sweeper).
    let server = try #require(gateway.services.last as? any ApplicationProtocol, "the gateway's last service is its server")
    return try await server.test(.router) { client in try await test(client, gateway) }
}

func post(
    _ client: any TestClientProtocol, _ uri: String, json body: String? = nil, bearer: String? = nil
) async throws -> TestResponse {
    var headers: HTTPFields = [:]
    if body != nil { headers[.contentType] = "application/json" }
    if let bearer { headers[.authorization] = "Bearer \(bearer)" }
    return try await client.execute(uri: uri, method: .post, headers: headers, body: body.map { ByteBuffer(string: $0) })
}

func json(_ response: TestResponse) throws -> [String: Any] {
    let object = try JSONSerialization.jsonObject(with: Data(buffer: response.body))
    return try #require(object as? [String: Any], "not a JSON object: \(String(buffer: response.body))")
}

/// Registers `name` and logs in; returns the session token.
func registerAndLogin(
    _ client: any TestClientProtocol, _ name: String, password: String = "correct horse", tier: Int = 1
) async throws -> String {
    let registered = try await post(client, "/api/register", json: #"{"name":"\#(name)","password":"\#(password)","tier":\#(tier)}"#)
    try #require(registered.status == .created, "register: \(String(buffer: registered.body))")
    let login = try await post(client, "/api/login", json: #"{"name":"\#(name)","password":"\#(password)"}"#)
    try #require(login.status == .ok, "login: \(String(buffer: login.body))")
    return try #require(try json(login)["token"] as? String)
}
