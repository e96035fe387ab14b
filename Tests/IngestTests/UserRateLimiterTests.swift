import Ingest
import Testing

/// The per-user token buckets, on a clock of the test's own (`admit(_:now:)`).
@Suite struct UserRateLimiterTests {
    let t0 = ContinuousClock.now

    @Test func aUserMaySendABurstThenWaitsForTokensToRefill() {
        let limiter = UserRateLimiter(rate: 2, burst: 4)
        #expect(limiter.admit(["u": 4], now: t0) == .admitted)
        // Empty: one more token comes after 1/rate = 500 ms.
        #expect(limiter.admit(["u": 1], now: t0) == .wait(.milliseconds(500)))
        #expect(limiter.admit(["u": 1], now: t0 + .milliseconds(250)) == .wait(.milliseconds(250)))
        #expect(limiter.admit(["u": 1], now: t0 + .milliseconds(500)) == .admitted)
        #expect(limiter.admit(["u": 1], now: t0 + .milliseconds(500)) == .wait(.milliseconds(500)))
    }

    @Test func idleTimeRefillsAtMostOneBurst() {
        let limiter = UserRateLimiter(rate: 2, burst: 4)
        #expect(limiter.admit(["u": 4], now: t0) == .admitted)
        let later = t0 + .seconds(3600)
        #expect(limiter.admit(["u": 4], now: later) == .admitted)
        #expect(limiter.admit(["u": 1], now: later) == .wait(.milliseconds(500)))
    }

    @Test func aBatchIsAdmittedWholeOrTakesNothing() {
        let limiter = UserRateLimiter(rate: 2, burst: 4)
        #expect(limiter.admit(["busy": 4], now: t0) == .admitted)
        // `busy` has no token left: the batch waits for the slowest user (3 tokens at 2/s) and `idle` keeps all of its.
        #expect(limiter.admit(["idle": 2, "busy": 3], now: t0) == .wait(.milliseconds(1500)))
        #expect(limiter.admit(["idle": 4], now: t0) == .admitted)
    }

    @Test func usersHaveBucketsOfTheirOwn() {
        let limiter = UserRateLimiter(rate: 1, burst: 2)
        #expect(limiter.admit(["a": 2], now: t0) == .admitted)
        #expect(limiter.admit(["b": 2], now: t0) == .admitted)
        #expect(limiter.admit(["a": 1], now: t0) == .wait(.seconds(1)))
    }

    @Test func moreOfOneUserThanABurstCanNeverBeAdmitted() {
        let limiter = UserRateLimiter(rate: 2, burst: 4)
        #expect(limiter.admit(["ok": 1, "greedy": 5], now: t0) == .exceedsBurst(user: "greedy", limit: 4))
        // Nothing was taken from the others.
        #expect(limiter.admit(["ok": 4], now: t0) == .admitted)
    }
}
