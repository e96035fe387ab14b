import DequeModule
import NIOCore

struct StoredRecord {
    var key: ByteBuffer?
    var value: ByteBuffer
    var timestamp: Int64
    var weight: Int
}

struct PartitionLog {
    var records: Deque<StoredRecord> = []
    /// Offset of `records.first`.
    var baseOffset: Int64 = 0
    /// The records' total weight (what the capacity of an `untilConsumed` partition bounds).
    var weight = 0
    var nextOffset: Int64 { baseOffset + Int64(records.count) }

    mutating func trim(below offset: Int64) -> Int {
        let count = Int(max(0, min(offset - baseOffset, Int64(records.count))))
        if count > 0 {
            for record in records.prefix(count) { weight -= record.weight }
            records.removeFirst(count)
            baseOffset += Int64(count)
        }
        return count
    }

    func start(_ position: StartPosition) -> Int64 {
        switch position {
        case .earliest: baseOffset
        case .latest: nextOffset
        case .tail(let n): max(baseOffset, nextOffset - Int64(n))
        }
    }
}

struct TopicLog {
    var partitions: [PartitionLog]
    let retention: TopicSpec.Retention
    let capacity: Int
    var spaceWaiters: [UInt64: Signal] = [:]
    var dataWaiters: [UInt64: Signal] = [:]
    var roundRobin = 0

    init(partitions: Int, retention: TopicSpec.Retention, capacity: Int) {
        self.partitions = Array(repeating: PartitionLog(), count: partitions)
        self.retention = retention
        self.capacity = capacity
    }
}

struct ConsumerState {
    let options: ConsumerOptions
    var positions: [Int: Int64] = [:]
    var assignment: [Int] = []
    /// Bumped whenever the assignment changes (and positions restart from the committed offsets).
    var generation: Int64 = 0
    /// The metadata committed with the offsets the generation started from.
    var startMetadata: [Int: String] = [:]
}

struct GroupKey: Hashable {
    var topic: String
    var group: String
}

struct GroupState {
    /// Members in join order; partitions are range-assigned over this order.
    var members: [UInt64] = []
    var committed: [Int: Int64] = [:]
    var committedMetadata: [Int: String] = [:]

    func assignment(of member: UInt64, partitions: Int) -> [Int] {
        guard let index = members.firstIndex(of: member) else { return [] }
        let share = partitions / members.count
        let extra = partitions % members.count
        let first = index * share + min(index, extra)
        let count = share + (index < extra ? 1 : 0)
        return Array(first..<(first + count))
    }
}

enum AppendOutcome {
    case appended(AppendReceipt, wake: [Signal])
    case full(waiterID: UInt64)
}

/// All state of the embedded log, guarded by one lock; methods never suspend.
struct LogState {
    var topics: [String: TopicLog] = [:]
    var consumers: [UInt64: ConsumerState] = [:]
    var groups: [GroupKey: GroupState] = [:]
    var nextID: UInt64 = 1
    /// The last time handed out; never decreases.
    var clock: Int64 = 0

    mutating func makeID() -> UInt64 {
        defer { nextID += 1 }
        return nextID
    }

    mutating func tick(_ now: Int64) -> Int64 {
        clock = max(clock, now)
        return clock
    }

    mutating func append(
        _ records: [LogRecord], to topic: String, now: Int64, ifFullRegister signal: Signal
    ) throws -> AppendOutcome {
        // Taken out of the dictionary while mutated so that the partition buffers are not copied (CoW).
        guard var log = topics.removeValue(forKey: topic) else { throw EventLogError.unknownTopic(topic) }
        defer { topics[topic] = log }
        let partitionCount = log.partitions.count
        var targets: [Int] = []
        targets.reserveCapacity(records.count)
        var perPartition = Array(repeating: 0, count: partitionCount)
        var roundRobin = log.roundRobin
        for record in records {
            let partition: Int
            if let explicit = record.partition {
                guard (0..<partitionCount).contains(explicit) else {
                    throw EventLogError.invalidPartition(topic: topic, partition: explicit)
                }
                partition = explicit
            } else if let key = record.key {
                partition = Partitioner.partition(forKey: key.readableBytesView, partitions: partitionCount)
            } else {
                partition = roundRobin % partitionCount
                roundRobin &+= 1
            }
            targets.append(partition)
            perPartition[partition] += max(1, record.weight)
        }
        if log.retention == .untilConsumed {
            for (partition, count) in perPartition.enumerated() where count > 0 {
                guard count <= log.capacity else {
                    throw EventLogError.appendTooLarge(topic: topic, count: count, capacity: log.capacity)
                }
                if log.partitions[partition].weight + count > log.capacity {
                    let id = makeID()
                    log.spaceWaiters[id] = signal
                    return .full(waiterID: id)
                }
            }
        }
        let stamp = tick(now)
        for (record, partition) in zip(records, targets) {
            let weight = max(1, record.weight)
            log.partitions[partition].records.append(
                StoredRecord(key: record.key, value: record.value, timestamp: record.timestamp ?? stamp, weight: weight))
            log.partitions[partition].weight += weight
        }
        if log.retention == .dropOldest {
            for index in log.partitions.indices where log.partitions[index].records.count > log.capacity {
                let excess = log.partitions[index].records.count - log.capacity
                _ = log.partitions[index].trim(below: log.partitions[index].baseOffset + Int64(excess))
            }
        }
        log.roundRobin = roundRobin
        let wake = Array(log.dataWaiters.values)
        log.dataWaiters.removeAll()
        return .appended(AppendReceipt(timestamp: stamp, count: records.count), wake: wake)
    }

    mutating func removeSpaceWaiter(_ id: UInt64, topic: String) {
        topics[topic]?.spaceWaiters[id] = nil
    }

    mutating func removeDataWaiter(_ consumer: UInt64, topic: String) {
        topics[topic]?.dataWaiters[consumer] = nil
    }

    mutating func register(_ options: ConsumerOptions) throws -> UInt64 {
        guard let log = topics[options.topic] else { throw EventLogError.unknownTopic(options.topic) }
        let id = makeID()
        var consumer = ConsumerState(options: options)
        if let group = options.group {
            let key = GroupKey(topic: options.topic, group: group)
            var groupState = groups[key] ?? GroupState()
            for (partition, partitionLog) in log.partitions.enumerated() where groupState.committed[partition] == nil {
                groupState.committed[partition] = partitionLog.start(options.start)
            }
            groupState.members.append(id)
            groups[key] = groupState
        } else {
            consumer.assignment = Array(log.partitions.indices)
            for (partition, partitionLog) in log.partitions.enumerated() {
                consumer.positions[partition] = partitionLog.start(options.start)
            }
        }
        consumers[id] = consumer
        return id
    }

    mutating func unregister(consumer id: UInt64) -> [Signal] {
        guard let consumer = consumers.removeValue(forKey: id) else { return [] }
        let topic = consumer.options.topic
        if let group = consumer.options.group {
            groups[GroupKey(topic: topic, group: group)]?.members.removeAll { $0 == id }
        }
        if let waiter = topics[topic]?.dataWaiters.removeValue(forKey: id) {
            waiter.fire()
        }
        return trim(topic)
    }

    mutating func poll(consumer id: UInt64, now: Int64, ifEmptyRegister signal: Signal) throws -> PollResult {
        guard var consumer = consumers[id] else { throw EventLogError.closed }
        let topic = consumer.options.topic
        let result = try read(consumer: &consumer, id: id, topic: topic, now: now)
        consumers[id] = consumer
        if result.records.isEmpty {
            topics[topic]?.dataWaiters[id] = signal
        }
        if consumer.options.group == nil {
            for waiter in trim(topic) { waiter.fire() }
        }
        return result
    }

    private mutating func read(consumer: inout ConsumerState, id: UInt64, topic: String, now: Int64) throws -> PollResult {
        guard let log = topics[topic] else { throw EventLogError.unknownTopic(topic) }
        if let group = consumer.options.group, let groupState = groups[GroupKey(topic: topic, group: group)] {
            let assignment = groupState.assignment(of: id, partitions: log.partitions.count)
            if assignment != consumer.assignment {
                consumer.assignment = assignment
                consumer.generation += 1
                consumer.positions = Dictionary(
                    uniqueKeysWithValues: assignment.map { ($0, groupState.committed[$0] ?? 0) })
                consumer.startMetadata = groupState.committedMetadata.filter { assignment.contains($0.key) }
            }
        }

        var records: [ConsumedRecord] = []
        var budget = consumer.options.maxRecordsPerPoll
        for partition in consumer.assignment where budget > 0 {
            let partitionLog = log.partitions[partition]
            var position = max(consumer.positions[partition] ?? 0, partitionLog.baseOffset)
            let available = Int(partitionLog.nextOffset - position)
            let take = min(available, budget)
            if take > 0 {
                var index = Int(position - partitionLog.baseOffset)
                for _ in 0..<take {
                    let stored = partitionLog.records[index]
                    records.append(
                        ConsumedRecord(
                            partition: partition, offset: position, key: stored.key, value: stored.value,
                            timestamp: stored.timestamp))
                    index += 1
                    position += 1
                }
                budget -= take
            }
            consumer.positions[partition] = position
        }

        var watermark: Int64?
        if !consumer.assignment.isEmpty {
            let stamp = tick(now)
            watermark = consumer.assignment.map { partition -> Int64 in
                let partitionLog = log.partitions[partition]
                let position = consumer.positions[partition] ?? partitionLog.nextOffset
                guard position < partitionLog.nextOffset else { return stamp }
                return partitionLog.records[Int(position - partitionLog.baseOffset)].timestamp
            }.min()
        }

        let caughtUp = consumer.assignment.allSatisfy { partition in
            (consumer.positions[partition] ?? 0) >= log.partitions[partition].nextOffset
        }
        return PollResult(
            records: records, watermark: watermark, assignment: consumer.assignment, generation: consumer.generation,
            caughtUp: caughtUp, committedMetadata: consumer.startMetadata)
    }

    mutating func commit(consumer id: UInt64, offsets: [Int: Int64], metadata: [Int: String] = [:]) throws -> [Signal] {
        guard let consumer = consumers[id] else { throw EventLogError.closed }
        guard let group = consumer.options.group else { return [] }
        let key = GroupKey(topic: consumer.options.topic, group: group)
        for (partition, offset) in offsets {
            groups[key]?.committed[partition] = offset
            groups[key]?.committedMetadata[partition] = metadata[partition]
        }
        return trim(consumer.options.topic)
    }

    /// Drops records every reader has moved past (`untilConsumed` topics); returns the appenders to wake.
    mutating func trim(_ topic: String) -> [Signal] {
        guard topics[topic]?.retention == .untilConsumed, var log = topics.removeValue(forKey: topic) else { return [] }
        defer { topics[topic] = log }
        var floors: [Int64?] = Array(repeating: nil, count: log.partitions.count)
        func lower(_ partition: Int, _ offset: Int64) {
            floors[partition] = min(floors[partition] ?? offset, offset)
        }
        for (key, group) in groups where key.topic == topic {
            for (partition, offset) in group.committed where partition < floors.count {
                lower(partition, offset)
            }
        }
        for consumer in consumers.values where consumer.options.topic == topic && consumer.options.group == nil {
            for (partition, offset) in consumer.positions where partition < floors.count {
                lower(partition, offset)
            }
        }
        var trimmed = 0
        for (partition, floor) in floors.enumerated() {
            if let floor { trimmed += log.partitions[partition].trim(below: floor) }
        }
        guard trimmed > 0 else { return [] }
        let wake = Array(log.spaceWaiters.values)
        log.spaceWaiters.removeAll()
        return wake
    }
}
