/// The membership's configuration, phases, and the actions and answers it exchanges with the consumer's loops.
extension GroupMembership {
    struct Configuration: Sendable {
        var heartbeatInterval: Duration
        /// Without a successful heartbeat for this long, the broker has dropped the member: find the coordinator
        /// and rejoin.
        var sessionTimeout: Duration
        var retryBackoff: Duration
        /// How often the leader compares the subscribed topics' partition counts with those it assigned.
        var metadataCheckInterval: Duration = .seconds(5)
        /// Failed attempts retried at once (for errors a rejoin resolves) before backing off.
        var immediateRetries = 3
        /// Consecutive SyncGroup timeouts after which the member takes over the leader id (see `failed`).
        var syncFailuresBeforeTakeover = 3

        init(heartbeatInterval: Duration, sessionTimeout: Duration, retryBackoff: Duration) {
            self.heartbeatInterval = heartbeatInterval
            self.sessionTimeout = sessionTimeout
            self.retryBackoff = retryBackoff
        }

        init(_ consumer: KafkaConsumerConfiguration) {
            self.init(
                heartbeatInterval: consumer.heartbeatInterval, sessionTimeout: consumer.sessionTimeout,
                retryBackoff: consumer.client.retryBackoff)
        }
    }

    /// What a member owns while stable.
    struct Stable: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var assignment: [KafkaTopicPartition]
        /// For the leader: the partition counts its assignment was computed from.
        var partitionCounts: [String: Int]?
        var nextHeartbeat: Instant
        /// The session expires at `lastHeartbeatAck + sessionTimeout`.
        var lastHeartbeatAck: Instant
        var nextMetadataCheck: Instant
    }

    enum Phase: Sendable, Equatable {
        /// Nothing in flight: the next step is FindCoordinator or JoinGroup.
        case rejoining
        case findingCoordinator
        case joining(KafkaBrokerAddress)
        case syncing(KafkaBrokerAddress, isLeader: Bool)
        case fetchingOffsets(KafkaBrokerAddress, assignment: [KafkaTopicPartition], partitionCounts: [String: Int]?)
        case stable(Stable)
        case backingOff(until: Instant)
        /// LeaveGroup in flight; afterwards stop on shutdown, else rejoin as `takingOverFrom` (if any) after
        /// `retryAt`.
        case leaving(LeaveParameters, retryAt: Instant?)
        case stopped
    }

    struct JoinParameters: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var memberID: String
        /// Encoded as the subscription's user data when non-zero.
        var subscriptionEpoch: Int32
    }

    struct SyncParameters: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var generation: Int32
        var memberID: String
        var protocolName: String
        /// For the leader: every member's subscribed topics, to assign with the range assignor. Nil for a follower.
        var assign: [String: [String]]?
    }

    struct LeaveParameters: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var memberID: String
        /// Set when leaving to rejoin under the id of a leader that never assigned partitions.
        var takingOverFrom: String?
    }

    /// What the group loop does next.
    enum Action: Sendable, Equatable {
        case findCoordinator
        case join(JoinParameters)
        /// SyncGroup (the leader first computes the assignment from fresh partition counts); report `synced`.
        case sync(SyncParameters)
        /// OffsetFetch (and the reset policy) for the assignment; report `positionsResolved`.
        case fetchOffsets(coordinator: KafkaBrokerAddress, assignment: [KafkaTopicPartition])
        /// The leader's periodic look at the subscribed topics' partition counts; report `partitionCountsChecked`.
        case checkPartitionCounts(topics: [String])
        /// The assignment is installed: announce it, then `tick`.
        case assigned(generation: Int32, memberID: String, assignment: [KafkaTopicPartition])
        case leaveGroup(LeaveParameters)
        /// Wait until the deadline (nil: until woken), then `tick`.
        case sleep(until: Instant?)
        case stop
    }

    /// What the heartbeat loop does next.
    enum HeartbeatAction: Sendable, Equatable {
        case send(Heartbeat)
        case sleep(until: Instant?)
        case stop
    }

    struct Heartbeat: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var generation: Int32
        var memberID: String
    }

    enum HeartbeatResult: Sendable, Equatable {
        case ok
        case error(Int16)
        /// The request failed without an answer; `connectionLost` when the connection failed or closed.
        case failed(connectionLost: Bool)
    }

    /// What a heartbeat, commit or metadata event did to the membership.
    enum Change: Sendable, Equatable {
        case none
        /// A rebalance is needed (when stable, the assignment was revoked); wake the group loop.
        case rebalance(reason: String)
        /// An error that a rebalance does not fix.
        case unhandledError(Int16)
        /// Another process joined under this member's `group.instance.id`: the assignment is revoked and the
        /// consumer stops; its polls fail with ``KafkaError/Code/fenced``.
        case fenced
    }

    /// What a commit needs, while stable.
    struct CommitContext: Sendable, Equatable {
        var coordinator: KafkaBrokerAddress
        var generation: Int32
        var memberID: String
        var assignment: Set<KafkaTopicPartition>
    }
}
