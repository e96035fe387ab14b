import Accounts
import EmoCore
import EmoHTTP
import EmoStore
import Foundation
import Hummingbird
import Logging

/// `POST /api/connect`: checks the caller's token, then reserves a viewer slot (tier limit and node capacity in
/// one atomic step in the store) and answers with the node's URLs carrying a single-use ticket.
public struct PlacementController: Sendable {
    public struct Configuration: Sendable {
        /// How long a ticket may wait to be used.
        public var ticketLifetime: Duration = .seconds(30)
        /// A node whose heartbeat is older than this is dead.
        public var nodeTTL: Duration = .seconds(10)

        public init() {}
    }

    let store: any PlacementStore
    let signer: TokenSigner
    let configuration: Configuration
    let logger: Logger
    /// Which channels viewers may watch (nil: any valid name).
    let channels: ChannelRegistry?
    /// Checks the node of a reconnect's `replaces` ticket (nil: `replaces` is verified, then ignored).
    let deadNodes: DeadNodeCheck?

    public init(
        store: any PlacementStore, signer: TokenSigner, configuration: Configuration = .init(), logger: Logger,
        channels: ChannelRegistry? = nil, deadNodes: DeadNodeCheck? = nil
    ) {
        self.store = store
        self.channels = channels
        self.deadNodes = deadNodes
        self.signer = signer
        self.configuration = configuration
        self.logger = logger
    }

    struct ConnectRequest: Decodable {
        var channel: String?
        /// The ticket of the stream this connect replaces (a viewer whose stream ended): when its node is down, it is
        /// marked so at once and the lost session stops counting against the tier limit.
        var replaces: String?
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/connect") { request, _ in try await connect(request) }
    }

    func connect(_ request: Request) async throws -> Response {
        let claims = try authenticate(request)
        var channel = ChannelName.defaultName
        var replaces: String?
        if request.headers[.contentLength].flatMap(Int.init) ?? 0 > 0 || request.headers[.transferEncoding] != nil {
            let body = try await request.decodeJSONBody(as: ConnectRequest.self)
            channel = body.channel ?? channel
            replaces = body.replaces
        }
        guard ChannelName.isValid(channel) else {
            throw APIError(.badRequest, "invalid_channel", "channel must be 1-64 characters of [a-z0-9_-]")
        }
        if let channels, try await !channels.allows(channel) {
            throw APIError(
                .notFound, "unknown_channel",
                "no channel named '\(channel)': the operator creates channels with `emostream channels add`",
                extra: ["channel": channel])
        }
        if let replaces {
            // A ticket of this account, expired or not (they live 30 s; the stream it opened may have lasted hours).
            guard let previous = try? signer.verify(replaces, kind: .ticket, now: .distantPast), previous.subject == claims.subject
            else {
                throw APIError(.badRequest, "invalid_replaces", "replaces must be a ticket this account was given by POST /api/connect")
            }
            if let node = previous.node, let deadNodes {
                _ = await deadNodes.isDown(node)
            }
        }
        let outcome = try await store.reserveSession(
            user: claims.subject, channel: channel, now: Date(), ticketTTL: configuration.ticketLifetime, nodeTTL: configuration.nodeTTL)
        switch outcome {
        case .reserved(let sessionID, let node, let expiresAt):
            let ticket = signer.sign(
                TokenClaims(
                    kind: .ticket, subject: claims.subject, tier: claims.tier,
                    expiresAt: Int64(expiresAt.timeIntervalSince1970.rounded(.down)), sessionID: sessionID,
                    node: node.name, channel: channel))
            let query = "ticket=\(ticket)" + (channel == ChannelName.defaultName ? "" : "&channel=\(channel)")
            logger.debug("viewer placed", metadata: ["user": "\(claims.subject)", "node": "\(node.name)"])
            return jsonResponse([
                "node": node.name, "ws_url": node.wsURL + "?" + query, "sse_url": node.sseURL + "?" + query,
                "ticket": ticket, "expires_at": expiresAt.formatted(.iso8601), "channel": channel,
            ])
        case .tierLimit(let limit):
            throw APIError(
                .tooManyRequests, "tier_limit", "your tier allows \(limit) device(s) at once; close one to connect another",
                extra: ["limit": limit])
        case .noCapacity:
            throw APIError(
                .serviceUnavailable, "no_capacity", "every cluster node is full; retry shortly", headers: [.retryAfter: "2"])
        case .unknownUser:
            throw APIError(.unauthorized, "invalid_token", "the account of this token no longer exists")
        }
    }

    func authenticate(_ request: Request) throws -> TokenClaims {
        guard let token = request.bearerToken else {
            throw APIError(
                .unauthorized, "missing_token", "send Authorization: Bearer <token> from POST /api/login",
                headers: [.wwwAuthenticate: "Bearer"])
        }
        do {
            return try signer.verify(token, kind: .session)
        } catch .expired {
            throw APIError(.unauthorized, "token_expired", "the token has expired; log in again", headers: [.wwwAuthenticate: "Bearer"])
        } catch {
            throw APIError(.unauthorized, "invalid_token", "the token is not valid", headers: [.wwwAuthenticate: "Bearer"])
        }
    }
}
