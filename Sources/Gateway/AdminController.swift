import Accounts
import EmoCore
import EmoHTTP
import EmoStore
import Foundation
import Hummingbird

/// The operator API behind `/admin`: `POST /api/admin/login {"password"}` → an operator token;
/// `GET /api/admin/overview` → nodes with capacity, load and liveness, live sessions per tier, and the pipeline's
/// totals (the page turns successive totals into rates). Disabled (404 `admin_disabled`) without a password.
public struct AdminController: Sendable {
    let password: String?
    let store: any PlacementStore
    let signer: TokenSigner
    let nodeTTL: Duration
    let stats: PipelineStats?
    /// Drains a node of this process (closes its viewers, takes it out of placement); nil where nodes run elsewhere.
    let drain: (@Sendable (String) async throws -> Bool)?
    /// Per-channel figures (viewers, reactions per second).
    let activity: ChannelActivity?

    public init(
        password: String?, store: any PlacementStore, signer: TokenSigner, nodeTTL: Duration, stats: PipelineStats?,
        drain: (@Sendable (String) async throws -> Bool)? = nil, activity: ChannelActivity? = nil
    ) {
        self.activity = activity
        self.password = password
        self.store = store
        self.signer = signer
        self.nodeTTL = nodeTTL
        self.stats = stats
        self.drain = drain
    }

    struct Login: Decodable {
        var password: String
    }

    struct Overview: Encodable {
        struct NodeRow: Encodable {
            var name: String
            var wsURL: String
            var capacity: Int
            var viewers: Int
            var live: Bool
            var lastHeartbeat: String

            enum CodingKeys: String, CodingKey {
                case name, capacity, viewers, live
                case wsURL = "ws_url"
                case lastHeartbeat = "last_heartbeat"
            }
        }

        var time: String
        var nodes: [NodeRow]
        var sessionsByTier: [String: Int]
        var reactionsAcceptedTotal: Int?
        var burstsPublishedTotal: Int?
        /// The live channels, most popular first (at most 50).
        var channels: [ChannelActivity.Figures]

        enum CodingKeys: String, CodingKey {
            case time, nodes, channels
            case sessionsByTier = "sessions_by_tier"
            case reactionsAcceptedTotal = "reactions_accepted_total"
            case burstsPublishedTotal = "bursts_published_total"
        }
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/admin/login") { request, _ in try await login(request) }
        router.get("/api/admin/overview") { request, _ in try await overview(request) }
        router.post("/api/admin/nodes/{name}/drain") { request, context in
            try await drainNode(request, name: try context.parameters.require("name"))
        }
    }

    func drainNode(_ request: Request, name: String) async throws -> Response {
        try authorize(request)
        guard let drain else {
            throw APIError(.notImplemented, "not_supported", "this gateway does not run the nodes; stop the node process instead")
        }
        guard try await drain(name) else { throw APIError(.notFound, "unknown_node", "no node named '\(name)' here") }
        return jsonResponse(["node": name, "drained": true])
    }

    func authorize(_ request: Request) throws {
        guard password != nil else { throw Self.disabled }
        guard let token = request.bearerToken, (try? signer.verify(token, kind: .operator)) != nil else {
            throw APIError(.unauthorized, "invalid_token", "log in at /admin first", headers: [.wwwAuthenticate: "Bearer"])
        }
    }

    func login(_ request: Request) async throws -> Response {
        guard let password else { throw Self.disabled }
        let login = try await request.decodeJSONBody(as: Login.self)
        // The time taken does not depend on where, or whether, the strings differ.
        guard ConstantTime.equals(login.password, password) else {
            throw APIError(.unauthorized, "invalid_credentials", "wrong operator password")
        }
        let expiresAt = Date().addingTimeInterval(12 * 3600)
        let token = signer.sign(
            TokenClaims(kind: .operator, subject: "operator", tier: 0, expiresAt: Int64(expiresAt.timeIntervalSince1970)))
        return jsonResponse(["token": token, "expires_at": expiresAt.formatted(.iso8601)])
    }

    func overview(_ request: Request) async throws -> Response {
        try authorize(request)
        let now = Date()
        let formatter = ISO8601DateFormatter()
        let nodes = try await store.nodes(now: now, nodeTTL: nodeTTL).map {
            Overview.NodeRow(
                name: $0.name, wsURL: $0.wsURL, capacity: $0.capacity, viewers: $0.viewers, live: $0.isLive,
                lastHeartbeat: formatter.string(from: $0.lastHeartbeat))
        }
        let tiers = try await store.sessionsByTier(now: now, nodeTTL: nodeTTL)
        return try jsonResponse(
            encoding: Overview(
                time: formatter.string(from: now), nodes: nodes,
                sessionsByTier: Dictionary(uniqueKeysWithValues: Tier.allCases.map { ("\($0.rawValue)", tiers[$0] ?? 0) }),
                reactionsAcceptedTotal: stats?.reactionsAcceptedTotal, burstsPublishedTotal: stats?.burstsPublishedTotal,
                channels: Array(try await activity?.channels().prefix(50) ?? [])))
    }

    static let disabled = APIError(
        .notFound, "admin_disabled", "the operator page is off: start with --admin-password (EMOSTREAM_ADMIN_PASSWORD)")
}
