import Accounts
import EmoStore
import EmoTestSupport
import Foundation
import Logging
import ServiceLifecycle
import Testing


let testSigner = TokenSigner(secret: Array("node-tests-secret-0123456789abcdef".utf8))

/// A ticket as `POST /api/connect` signs it.
func ticket(
    session: String = "s-1", user: String = "viewer", node: String, channel: String = "main",
    expiresIn seconds: TimeInterval = 600, signer: TokenSigner = testSigner
) -> String {
    signer.sign(
        TokenClaims(
            kind: .ticket, subject: user, tier: 1, expiresAt: Int64(Date().addingTimeInterval(seconds).timeIntervalSince1970),
            sessionID: session, node: node, channel: channel))
}
