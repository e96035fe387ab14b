import Testing

@testable import Gateway

/// The throttle's state machine alone, with instants chosen by the test.
@Suite struct LoginThrottleTests {
    let t0 = ContinuousClock.now

    func configuration(perName: Int = 5, perAddress: Int = 30, capacity: Int = 65_536) -> LoginThrottle.Configuration {
        var configuration = LoginThrottle.Configuration()
        configuration.failuresPerName = perName
        configuration.failuresPerAddress = perAddress
        configuration.capacity = capacity
        return configuration
    }

    /// One attempt that fails at `now`; returns the decision it got.
    @discardableResult
    func fail(_ machine: inout LoginThrottle.StateMachine, _ name: String, _ address: String? = nil, at now: ContinuousClock.Instant)
        -> LoginThrottle.Decision
    {
        let decision = machine.begin(name: name, address: address, now: now)
        if case .allowed(let attempt) = decision { machine.finish(attempt, succeeded: false, now: now) }
        return decision
    }

    func isAllowed(_ decision: LoginThrottle.Decision) -> Bool {
        if case .allowed = decision { return true }
        return false
    }

    @Test func fiveFailuresOfANameBlockItWithABackoffDoublingUpToFiveMinutes() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        for _ in 0..<5 { #expect(isAllowed(fail(&machine, "asha", at: t0))) }
        #expect(machine.begin(name: "asha", address: nil, now: t0) == .throttled(retryAfter: .seconds(1)))
        #expect(machine.begin(name: "ASHA", address: nil, now: t0) == .throttled(retryAfter: .seconds(1)), "names are case-insensitive")
        #expect(isAllowed(machine.begin(name: "bilal", address: nil, now: t0)), "other names are not affected")

        // Each failure after a backoff doubles the next one: 2 s, 4 s, … 256 s, then 300 s (the cap).
        var now = t0 + .seconds(1)
        var expected: [Duration] = []
        var seen: [Duration] = []
        for doubling in 1...10 {
            #expect(isAllowed(fail(&machine, "asha", at: now)))
            expected.append(min(.seconds(1 << doubling), .seconds(300)))
            guard case .throttled(let wait) = machine.begin(name: "asha", address: nil, now: now) else {
                Issue.record("not throttled after failure \(5 + doubling)")
                return
            }
            seen.append(wait)
            now = now + wait
        }
        #expect(seen == expected)
        #expect(machine.begin(name: "asha", address: nil, now: now - .milliseconds(1)) == .throttled(retryAfter: .milliseconds(1)))
    }

    @Test func aSuccessResetsTheName() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        for _ in 0..<4 { fail(&machine, "asha", at: t0) }
        guard case .allowed(let attempt) = machine.begin(name: "asha", address: nil, now: t0) else {
            Issue.record("the fifth attempt was throttled")
            return
        }
        machine.finish(attempt, succeeded: true, now: t0)
        // Four more failures are again below the limit.
        for _ in 0..<4 { #expect(isAllowed(fail(&machine, "asha", at: t0))) }
        #expect(isAllowed(machine.begin(name: "asha", address: nil, now: t0)))
    }

    @Test func thirtyFailuresFromOneAddressBlockEveryNameFromIt() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        for index in 0..<30 { #expect(isAllowed(fail(&machine, "name-\(index)", "10.0.0.1", at: t0))) }
        #expect(machine.begin(name: "someone-else", address: "10.0.0.1", now: t0) == .throttled(retryAfter: .seconds(1)))
        #expect(isAllowed(machine.begin(name: "someone-else", address: "10.0.0.2", now: t0)))
    }

    @Test func aSuccessDoesNotClearItsAddress() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        for index in 0..<29 { fail(&machine, "name-\(index)", "10.0.0.1", at: t0) }
        guard case .allowed(let attempt) = machine.begin(name: "mine", address: "10.0.0.1", now: t0) else {
            Issue.record("throttled")
            return
        }
        machine.finish(attempt, succeeded: true, now: t0)
        // One valid account does not buy an address 30 more guesses at other names.
        #expect(isAllowed(fail(&machine, "name-29", "10.0.0.1", at: t0)))
        #expect(!isAllowed(machine.begin(name: "name-30", address: "10.0.0.1", now: t0)))
    }

    @Test func attemptsInFlightCountSoThatAThousandAtOnceGetFiveChecks() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        var admitted: [LoginThrottle.Attempt] = []
        var throttled = 0
        for _ in 0..<1000 {
            switch machine.begin(name: "asha", address: "10.0.0.1", now: t0) {
            case .allowed(let attempt): admitted.append(attempt)
            case .throttled: throttled += 1
            }
        }
        #expect(admitted.count == 5)
        #expect(throttled == 995)
        for attempt in admitted { machine.finish(attempt, succeeded: false, now: t0) }
        #expect(machine.begin(name: "asha", address: "10.0.0.1", now: t0) == .throttled(retryAfter: .seconds(1)))
        // Past the limit, one check per backoff.
        let later = t0 + .seconds(1)
        #expect(isAllowed(machine.begin(name: "asha", address: "10.0.0.1", now: later)))
        #expect(!isAllowed(machine.begin(name: "asha", address: "10.0.0.1", now: later)))
    }

    @Test func anAbandonedAttemptCountsNeitherWay() {
        var machine = LoginThrottle.StateMachine(configuration: configuration(perName: 1))
        guard case .allowed(let attempt) = machine.begin(name: "asha", address: nil, now: t0) else {
            Issue.record("throttled")
            return
        }
        machine.abandon(attempt)
        #expect(isAllowed(machine.begin(name: "asha", address: nil, now: t0)))
    }

    @Test func failuresAreForgottenAfterAQuietPeriod() {
        var machine = LoginThrottle.StateMachine(configuration: configuration())
        for _ in 0..<4 { fail(&machine, "asha", at: t0) }
        let later = t0 + .seconds(901)
        for _ in 0..<4 { #expect(isAllowed(fail(&machine, "asha", at: later))) }
        #expect(isAllowed(machine.begin(name: "asha", address: nil, now: later)))
    }

    @Test func memoryIsBoundedByTheCapacity() {
        var machine = LoginThrottle.StateMachine(configuration: configuration(capacity: 100))
        for index in 0..<10_000 { fail(&machine, "name-\(index)", "10.\(index / 65_536).\(index / 256 % 256).\(index % 256)", at: t0) }
        #expect(machine.names.count == 100)
        #expect(machine.addresses.count == 100)
        // The most recent names are the ones kept.
        for _ in 0..<4 { fail(&machine, "name-9999", at: t0) }
        #expect(!isAllowed(machine.begin(name: "name-9999", address: nil, now: t0)))
    }

    @Test func zeroTurnsAKindOff() {
        var machine = LoginThrottle.StateMachine(configuration: configuration(perName: 0, perAddress: 0))
        for _ in 0..<100 { #expect(isAllowed(fail(&machine, "asha", "10.0.0.1", at: t0))) }
        #expect(machine.names.count == 0)
    }
}

@Suite struct BoundedLRUTests {
    @Test func keepsTheMostRecentlyUsedEntries() {
        var lru = BoundedLRU<String, Int>(capacity: 3)
        lru.set(1, for: "a")
        lru.set(2, for: "b")
        lru.set(3, for: "c")
        #expect(lru.value(for: "a") == 1)  // a is now the newest
        lru.set(4, for: "d")  // evicts b
        #expect(lru.value(for: "b") == nil)
        #expect(lru.value(for: "a") == 1)
        #expect(lru.value(for: "c") == 3)
        #expect(lru.value(for: "d") == 4)
        #expect(lru.count == 3)
    }

    @Test func removeKeepsTheOrderOfTheRest() {
        var lru = BoundedLRU<Int, Int>(capacity: 4)
        for key in 0..<4 { lru.set(key, for: key) }
        lru.remove(1)
        lru.remove(0)
        #expect(lru.count == 2)
        lru.set(10, for: 10)
        lru.set(11, for: 11)
        lru.set(12, for: 12)  // evicts 2, the oldest left
        #expect(lru.value(for: 2) == nil)
        #expect(lru.value(for: 3) == 3)
        #expect(lru.count == 4)
        for key in [3, 10, 11, 12] { lru.remove(key) }
        #expect(lru.count == 0)
        lru.set(1, for: 1)
        #expect(lru.value(for: 1) == 1)
    }

    @Test func agreesWithASimpleModel() {
        var lru = BoundedLRU<Int, Int>(capacity: 16)
        var model: [(key: Int, value: Int)] = []  // oldest first
        var generator = SystemRandomNumberGenerator()
        for step in 0..<20_000 {
            let key = Int.random(in: 0..<40, using: &generator)
            switch Int.random(in: 0..<3, using: &generator) {
            case 0:
                lru.set(step, for: key)
                model.removeAll { $0.key == key }
                model.append((key, step))
                if model.count > 16 { model.removeFirst() }
            case 1:
                let expected = model.first { $0.key == key }?.value
                #expect(lru.value(for: key) == expected)
                if let index = model.firstIndex(where: { $0.key == key }) { model.append(model.remove(at: index)) }
            default:
                lru.remove(key)
                model.removeAll { $0.key == key }
            }
            #expect(lru.count == model.count)
        }
    }
}
