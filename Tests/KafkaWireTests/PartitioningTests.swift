import NIOCore
import Testing

@testable import KafkaWire

@Suite struct PartitioningTests {
    /// Kafka's UtilsTest.testMurmur2 vectors (Java client).
    @Test(arguments: [
        ("21", Int32(-973_932_308)),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        ("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58_897_971),
        ("abc", 479_470_107),
    ])
    func murmur2MatchesJava(input: String, expected: Int32) {
        #expect(Murmur2.hash(Array(input.utf8)) == expected)
    }

    @Test func keyPartitionIsToPositiveModulo() {
        let key = Array("foobar".utf8)
        let expected = Int(UInt32(bitPattern: -790_332_482) & 0x7fff_ffff) % 6
        #expect(key.withUnsafeBytes { Murmur2.partition(forKey: $0, partitions: 6) } == expected)
    }

    @Test func rangeAssignorThreeBySix() {
        let subs = ["c-b": ["t"], "c-a": ["t"], "c-c": ["t"]]
        let plan = RangeAssignor.assign(subscriptions: subs, partitionCounts: ["t": 6])
        #expect(plan["c-a"] == ["t": [0, 1]])
        #expect(plan["c-b"] == ["t": [2, 3]])
        #expect(plan["c-c"] == ["t": [4, 5]])
    }

    @Test func rangeAssignorThreeByEight() {
        let subs = ["m3": ["t"], "m1": ["t"], "m2": ["t"]]
        let plan = RangeAssignor.assign(subscriptions: subs, partitionCounts: ["t": 8])
        #expect(plan["m1"] == ["t": [0, 1, 2]])
        #expect(plan["m2"] == ["t": [3, 4, 5]])
        #expect(plan["m3"] == ["t": [6, 7]])
    }

    @Test func rangeAssignorLexicographicOrderAndTwoTopics() {
        // "m10" sorts before "m2" lexicographically.
        let subs = ["m2": ["a", "b"], "m10": ["a", "b"]]
        let plan = RangeAssignor.assign(subscriptions: subs, partitionCounts: ["a": 3, "b": 1])
        #expect(plan["m10"] == ["a": [0, 1], "b": [0]])
        #expect(plan["m2"] == ["a": [2]])
    }

    @Test func extraMembersGetEmptyAssignments() throws {
        let subs = ["a": ["t"], "b": ["t"], "c": ["t"], "d": ["t"]]
        let plan = RangeAssignor.assign(subscriptions: subs, partitionCounts: ["t": 2])
        #expect(plan.count == 4)
        #expect(plan["a"] == ["t": [0]])
        #expect(plan["b"] == ["t": [1]])
        #expect(plan["c"] == [:])
        #expect(plan["d"] == [:])
        // An empty assignment still encodes, and a zero-length one decodes to nothing.
        #expect(try ConsumerProtocol.decodeAssignment(ConsumerProtocol.encodeAssignment([:])) == [])
        #expect(try ConsumerProtocol.decodeAssignment(ByteBuffer()) == [])
    }

    @Test func consumerProtocolRoundTrip() throws {
        let sub = ConsumerProtocol.encodeSubscription(topics: ["x", "yz"])
        #expect(Array(sub.readableBytesView) == bytes("0000 00000002 0001 78 0002 797a ffffffff"))
        #expect(try ConsumerProtocol.decodeSubscription(sub) == ["x", "yz"])
        let assignment = ConsumerProtocol.encodeAssignment(["t": [2, 0]])
        #expect(
            try ConsumerProtocol.decodeAssignment(assignment) == [
                KafkaTopicPartition(topic: "t", partition: 0), KafkaTopicPartition(topic: "t", partition: 2),
            ])
    }
}
