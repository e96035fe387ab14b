import NIOCore

/// The consumer protocol's Subscription and Assignment v0: classic (non-flexible) structs prefixed by an int16
/// version, carried opaquely in JoinGroup metadata and SyncGroup assignments.
package enum ConsumerProtocol {
    package static func encodeSubscription(topics: [String], userData: ByteBuffer? = nil) -> ByteBuffer {
        var w = KafkaWriter(capacity: 64)
        w.writeInt16(0)
        w.writeArrayCount(topics.count)
        for t in topics { w.writeString(t) }
        w.writeNullableBytes(userData)
        return w.buffer
    }

    /// Topics of a member's subscription (any version: later fields are ignored).
    package static func decodeSubscription(_ buffer: ByteBuffer) throws -> [String] {
        var r = KafkaReader(buffer: buffer)
        _ = try r.readInt16()
        return try r.readArray { try $0.readString() }
    }

    package static func encodeAssignment(_ partitions: [String: [Int32]]) -> ByteBuffer {
        var w = KafkaWriter(capacity: 64)
        w.writeInt16(0)
        let topics = partitions.keys.sorted()
        w.writeArrayCount(topics.count)
        for t in topics {
            w.writeString(t)
            let ps = partitions[t]!.sorted()
            w.writeArrayCount(ps.count)
            for p in ps { w.writeInt32(p) }
        }
        w.writeNullableBytes(nil)
        return w.buffer
    }

    /// A zero-length assignment (Tansu sends one to members the leader left out) means no partitions.
    package static func decodeAssignment(_ buffer: ByteBuffer) throws -> [KafkaTopicPartition] {
        guard buffer.readableBytes > 0 else { return [] }
        var r = KafkaReader(buffer: buffer)
        _ = try r.readInt16()
        var result: [KafkaTopicPartition] = []
        let topics = try r.readArray { t -> (String, [Int32]) in
            (try t.readString(), try t.readArray { try $0.readInt32() })
        }
        for (topic, parts) in topics {
            for p in parts { result.append(KafkaTopicPartition(topic: topic, partition: Int(p))) }
        }
        return result.sorted()
    }
}
