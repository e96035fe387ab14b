import Accounts
import EmoHTTP
import EmoStore
import Foundation
import Hummingbird
import Logging

/// `POST /api/register` and `POST /api/login`.
public struct AccountsController: Sendable {
    let store: any AccountStore
    let hasher: PasswordHasher
    let signer: TokenSigner
    let tokenLifetime: Duration
    let logger: Logger
    /// Failed logins per name and per client address; nil: no throttling.
    let throttle: LoginThrottle?

    public init(
        store: any AccountStore, hasher: PasswordHasher, signer: TokenSigner, tokenLifetime: Duration, logger: Logger,
        throttle: LoginThrottle? = nil
    ) {
        self.store = store
        self.hasher = hasher
        self.signer = signer
        self.tokenLifetime = tokenLifetime
        self.logger = logger
        self.throttle = throttle
    }

    struct Registration: Decodable {
        var name: String
        var password: String
        var tier: Int
    }

    struct Credentials: Decodable {
        var name: String
        var password: String
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/register") { request, _ in try await register(request) }
        router.post("/api/login") { request, context in
            try await login(request, clientAddress: (context as? any RemoteAddressRequestContext)?.remoteAddress?.ipAddress)
        }
    }

    func register(_ request: Request) async throws -> Response {
        let registration = try await request.decodeJSONBody(as: Registration.self)
        guard AccountRules.isValidName(registration.name) else {
            throw APIError(.badRequest, "invalid_name", "name must be 3-32 characters of A-Z a-z 0-9 _ . -")
        }
        guard AccountRules.isValidPassword(registration.password) else {
            throw APIError(
                .badRequest, "invalid_password",
                "password must be at least \(AccountRules.minimumPasswordLength) characters and at most \(AccountRules.maximumPasswordBytes) bytes")
        }
        guard let tier = Tier(rawValue: registration.tier) else {
            throw APIError(.badRequest, "invalid_tier", "tier must be 1, 2 or 3")
        }
        let hash = try await hasher.hash(registration.password)
        do {
            _ = try await store.createUser(name: registration.name, passwordHash: hash, tier: tier)
        } catch EmoStoreError.nameTaken {
            throw APIError(.conflict, "name_taken", "the name '\(registration.name)' is taken")
        }
        logger.info("user registered", metadata: ["user": "\(registration.name)", "tier": "\(tier.rawValue)"])
        return jsonResponse(["name": registration.name, "tier": tier.rawValue, "max_devices": tier.maxDevices], status: .created)
    }

    func login(_ request: Request, clientAddress: String? = nil) async throws -> Response {
        let credentials = try await request.decodeJSONBody(as: Credentials.self)
        var attempt: LoginThrottle.Attempt?
        switch throttle?.begin(name: credentials.name, address: clientAddress) {
        case .throttled(let wait):
            throw Self.throttled(retryAfter: wait)
        case .allowed(let admitted):
            attempt = admitted
        case nil:
            break
        }
        let user: UserRecord?
        let matches: Bool
        do {
            user = AccountRules.isValidName(credentials.name) ? try await store.user(named: credentials.name) : nil
            // Verify against a decoy when the user is unknown: same answer, same time.
            matches = try await hasher.verify(credentials.password, hash: user?.passwordHash ?? hasher.decoyHash)
        } catch {
            // Neither a success nor a failure: the store or the thread pool failed.
            if let attempt { throttle?.abandon(attempt) }
            throw error
        }
        guard let user, matches else {
            if let attempt { throttle?.finish(attempt, succeeded: false) }
            logger.debug("login failed", metadata: ["user": "\(credentials.name)", "client": "\(clientAddress ?? "-")"])
            throw APIError(.unauthorized, "invalid_credentials", "unknown name or wrong password")
        }
        if let attempt { throttle?.finish(attempt, succeeded: true) }
        let expiresAt = Date().addingTimeInterval(tokenLifetime.seconds)
        let token = signer.sign(
            TokenClaims(kind: .session, subject: user.name, tier: user.tier.rawValue, expiresAt: Int64(expiresAt.timeIntervalSince1970)))
        return jsonResponse([
            "token": token, "expires_at": expiresAt.formatted(.iso8601), "tier": user.tier.rawValue,
            "max_devices": user.tier.maxDevices,
        ])
    }
}

extension AccountsController {
    /// `429 {"error":"login_throttled","retry_after":s}` with `Retry-After: s` (whole seconds, at least 1).
    static func throttled(retryAfter wait: Duration) -> APIError {
        let seconds = max(1, Int(wait.seconds.rounded(.up)))
        return APIError(
            .tooManyRequests, "login_throttled", "too many failed logins; try again in \(seconds) s",
            extra: ["retry_after": seconds], headers: [.retryAfter: "\(seconds)"])
    }
}

extension Duration {
    var seconds: TimeInterval {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
