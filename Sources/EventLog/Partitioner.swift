/// Kafka's default partitioner for keyed records: `toPositive(murmur2(key)) % partitions`, so that a key lands
/// on the same partition whichever client (Java, librdkafka with `murmur2_random`, EmoStream) produced it.
public enum Partitioner {
    public static func partition(forKey key: some Collection<UInt8>, partitions: Int) -> Int {
        Int(murmur2(key) & 0x7fff_ffff) % partitions
    }

    /// MurmurHash2, 32-bit, seed 0x9747b28c, as in `org.apache.kafka.common.utils.Utils.murmur2`.
    public static func murmur2(_ data: some Collection<UInt8>) -> UInt32 {
        let bytes = Array(data)
        let length = bytes.count
        let m: UInt32 = 0x5bd1_e995
        let r: UInt32 = 24
        var h: UInt32 = 0x9747_b28c ^ UInt32(truncatingIfNeeded: length)
        let blocks = length / 4
        for block in 0..<blocks {
            let i = block * 4
            var k = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
            k &*= m
            k ^= k >> r
            k &*= m
            h &*= m
            h ^= k
        }
        let tail = blocks * 4
        switch length % 4 {
        case 3:
            h ^= UInt32(bytes[tail + 2]) << 16
            fallthrough
        case 2:
            h ^= UInt32(bytes[tail + 1]) << 8
            fallthrough
        case 1:
            h ^= UInt32(bytes[tail])
            h &*= m
        default:
            break
        }
        h ^= h >> 13
        h &*= m
        h ^= h >> 15
        return h
    }
}
