import NIOCore

/// A partition of a topic.
public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int

    public init(topic: String, partition: Int) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: KafkaTopicPartition, rhs: KafkaTopicPartition) -> Bool {
        lhs.topic == rhs.topic ? lhs.partition < rhs.partition : lhs.topic < rhs.topic
    }

    public var description: String { "\(topic)-\(partition)" }
}

/// A record header; the value may be null.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }
}
