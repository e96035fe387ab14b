import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's blocking thread pool: a hash costs tens of milliseconds of CPU by design and must not
/// hold up the event loops or the cooperative pool.
public struct PasswordHasher: Sendable {
    public let cost: UInt8
    /// A hash of a random string at the same cost, verified against when the user does not exist so that
    /// unknown names and wrong passwords take the same time.
    public let decoyHash: String

    public init(cost: UInt8 = 10) {
        self.cost = cost
        self.decoyHash = Bcrypt.hash(UInt64.random(in: .min ... .max).description, cost: cost)
    }

    public func hash(_ password: String) async throws -> String {
        let cost = cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
