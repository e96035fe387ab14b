import Foundation
import FuzzSupport
import KafkaWire
import NIOCore

/// Fuzzes KafkaWire's decoders of what a broker sends. The first byte of an input picks the decoder, the rest is
/// its input:
/// - `0..<14`: the response decoders (``KafkaResponseDecoders``), a frame after its correlation id;
/// - `14`, `15`: the record batches of a Fetch partition (``RecordBatch/decode(_:fetchOffset:verifyCRC:)``), with
///   and without the CRC check (mutations rarely keep a CRC valid), at fetch offset 0;
/// - `16`, `17`: a group member's subscription and assignment (``ConsumerProtocol``).
///
/// A decoder throws or returns. Decoded records lie at or above the fetch offset and below the next offset, in
/// order, and survive an encode → decode round trip; decoded subscriptions and assignments survive theirs.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzKafka(_ start: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    let input = UnsafeBufferPointer(start: start, count: count)
    guard let selector = input.first else { return 0 }
    let frame = ByteBuffer(bytes: input.dropFirst())
    let responses = KafkaResponseDecoders.apiKeys
    switch Int(selector) % (responses.count + 4) {
    case let index where index < responses.count:
        _ = try? KafkaResponseDecoders.decode(apiKey: responses[index], frame: frame)
    case responses.count:
        checkRecordBatches(frame, verifyCRC: true)
    case responses.count + 1:
        checkRecordBatches(frame, verifyCRC: false)
    case responses.count + 2:
        guard let topics = try? ConsumerProtocol.decodeSubscription(frame) else { return 0 }
        let again = try? ConsumerProtocol.decodeSubscription(ConsumerProtocol.encodeSubscription(topics: topics))
        FuzzCheck.require(again == topics, "subscription \(topics) decodes as \(String(describing: again))")
    default:
        guard let assignment = try? ConsumerProtocol.decodeAssignment(frame) else { return 0 }
        var partitions: [String: [Int32]] = [:]
        for p in assignment {
            FuzzCheck.require(Int32(exactly: p.partition) != nil, "partition \(p.partition) is not an int32")
            partitions[p.topic, default: []].append(Int32(p.partition))
        }
        let again = try? ConsumerProtocol.decodeAssignment(ConsumerProtocol.encodeAssignment(partitions))
        FuzzCheck.require(again == assignment, "assignment \(assignment) decodes as \(String(describing: again))")
    }
    return 0
}

func checkRecordBatches(_ data: ByteBuffer, verifyCRC: Bool) {
    guard let decoded = try? RecordBatch.decode(data, fetchOffset: 0, verifyCRC: verifyCRC) else { return }
    let records = decoded.records
    guard !records.isEmpty else { return }
    guard let next = decoded.nextOffset else {
        FuzzCheck.require(false, "\(records.count) records but no next offset")
        return
    }
    var previous: Int64 = -1
    for record in records {
        FuzzCheck.require(record.offset > previous, "offset \(record.offset) after \(previous)")
        FuzzCheck.require(record.offset < next, "offset \(record.offset) at or above the next offset \(next)")
        previous = record.offset
    }
    // The encoder writes timestamps as deltas from the first record's: skip what it cannot hold.
    let base = records[0].timestamp
    guard records.allSatisfy({ !$0.timestamp.subtractingReportingOverflow(base).overflow }) else { return }
    let outgoing = records.map {
        OutgoingRecord(key: $0.key, value: $0.value, headers: $0.headers, timestamp: $0.timestamp)
    }
    let again: RecordBatch.Decoded
    do {
        again = try RecordBatch.decode(RecordBatch.encode(outgoing), fetchOffset: 0)
    } catch {
        FuzzCheck.require(false, "\(records.count) records encode to a batch that does not decode: \(error)")
        return
    }
    let renumbered = records.enumerated().map { index, record in
        var record = record
        record.offset = Int64(index)
        return record
    }
    FuzzCheck.require(again.records == renumbered, "records \(records) decode as \(again.records) after a round trip")
    FuzzCheck.require(again.nextOffset == Int64(records.count), "next offset \(String(describing: again.nextOffset))")
}

@main
enum FuzzKafka {
    static func main() {
        FuzzDriver.main(fuzzKafka) { directory in
            let keys = KafkaResponseDecoders.apiKeys
            for (name, bytes) in seeds() {
                let selector = Int(bytes.getInteger(at: 0, as: UInt8.self)!)
                if selector < keys.count {
                    // A seed the decoder refuses would start the fuzzer from noise.
                    _ = try KafkaResponseDecoders.decode(apiKey: keys[selector], frame: bytes.getSlice(at: 1, length: bytes.readableBytes - 1)!)
                }
                try Data(bytes.readableBytesView).write(to: directory.appendingPathComponent(name))
            }
        }
    }

    /// Responses as a broker sends them (the layouts the decoders read), each behind its selector byte.
    static func seeds() -> [(String, ByteBuffer)] {
        let keys = KafkaResponseDecoders.apiKeys
        func response(_ apiKey: Int16, _ name: String, _ body: (inout KafkaWriter) -> Void) -> (String, ByteBuffer) {
            var w = KafkaWriter()
            w.writeInt8(Int8(keys.firstIndex(of: apiKey)!))
            if apiKey != 18 { w.writeEmptyTaggedFields() }  // response header v1; ApiVersions answers with v0
            body(&w)
            return (name, w.buffer)
        }
        func selected(_ selector: Int, _ name: String, _ bytes: ByteBuffer) -> (String, ByteBuffer) {
            var w = KafkaWriter()
            w.writeInt8(Int8(selector))
            w.buffer.writeImmutableBuffer(bytes)
            return (name, w.buffer)
        }
        let batch: ByteBuffer = {
            var first = RecordBatch.encode([
                OutgoingRecord(key: ByteBuffer(string: "main"), value: ByteBuffer(string: "v1"), headers: [], timestamp: 1000),
                OutgoingRecord(
                    key: nil, value: ByteBuffer(string: "v2"),
                    headers: [KafkaHeader(key: "h", value: ByteBuffer(string: "x")), KafkaHeader(key: "n", value: nil)],
                    timestamp: 1005),
            ])
            let second = RecordBatch.encode([OutgoingRecord(key: nil, value: nil, headers: [], timestamp: 2000)])
            first.writeImmutableBuffer(second)
            first.setInteger(Int64(2), at: first.writerIndex - second.readableBytes)  // base offset of the second
            return first
        }()
        return [
            response(0, "produce", { w in
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeCompactArrayCount(1)
                w.writeInt32(3)
                w.writeInt16(0)
                w.writeInt64(41)
                w.writeInt64(-1)
                w.writeInt64(0)
                w.writeCompactArrayCount(0)
                w.writeCompactNullableString(nil)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeInt32(0)
                w.writeEmptyTaggedFields()
            }),
            response(1, "fetch", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeCompactArrayCount(1)
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeInt64(3)
                w.writeInt64(3)
                w.writeInt64(0)
                w.writeCompactArrayCount(0)
                w.writeInt32(-1)
                w.writeCompactNullableBytes(batch)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(2, "list-offsets", { w in
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeCompactArrayCount(1)
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeInt64(-1)
                w.writeInt64(17)
                w.writeInt32(0)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(3, "metadata", { w in
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeInt32(1)
                w.writeCompactString("localhost")
                w.writeInt32(9092)
                w.writeCompactNullableString(nil)
                w.writeEmptyTaggedFields()
                w.writeCompactNullableString("cluster")
                w.writeInt32(1)
                w.writeCompactArrayCount(1)
                w.writeInt16(0)
                w.writeCompactNullableString("emoji")
                w.writeUUID((0x5f1e, 0x22))
                w.writeBool(false)
                w.writeCompactArrayCount(1)
                w.writeInt16(0)
                w.writeInt32(0)
                w.writeInt32(1)
                w.writeInt32(0)
                for _ in 0..<2 {
                    w.writeCompactArrayCount(1)
                    w.writeInt32(1)
                }
                w.writeCompactArrayCount(0)
                w.writeEmptyTaggedFields()
                w.writeInt32(Int32.min)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(8, "offset-commit", { w in
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeCompactArrayCount(1)
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(9, "offset-fetch", { w in
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeCompactArrayCount(1)
                w.writeInt32(0)
                w.writeInt64(12)
                w.writeInt32(-1)
                w.writeCompactNullableString("")
                w.writeInt16(0)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeInt16(0)
                w.writeEmptyTaggedFields()
            }),
            response(10, "find-coordinator", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeCompactNullableString(nil)
                w.writeInt32(1)
                w.writeCompactString("localhost")
                w.writeInt32(9092)
                w.writeEmptyTaggedFields()
            }),
            response(11, "join-group", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeInt32(3)
                w.writeCompactNullableString("consumer")
                w.writeCompactNullableString("range")
                w.writeCompactString("m-1")
                w.writeCompactString("m-1")
                w.writeCompactArrayCount(1)
                w.writeCompactString("m-1")
                w.writeCompactNullableString(nil)
                w.writeCompactBytes(ConsumerProtocol.encodeSubscription(topics: ["emoji"]))
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(12, "heartbeat", { w in
                w.writeInt32(0)
                w.writeInt16(27)
                w.writeEmptyTaggedFields()
            }),
            response(13, "leave-group", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("m-1")
                w.writeCompactNullableString(nil)
                w.writeInt16(0)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(14, "sync-group", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeCompactNullableString("consumer")
                w.writeCompactNullableString("range")
                w.writeCompactBytes(ConsumerProtocol.encodeAssignment(["emoji": [0, 1, 2]]))
                w.writeEmptyTaggedFields()
            }),
            response(18, "api-versions", { w in
                w.writeInt16(0)
                w.writeCompactArrayCount(2)
                for (key, high) in [(Int16(0), Int16(9)), (Int16(1), Int16(12))] {
                    w.writeInt16(key)
                    w.writeInt16(0)
                    w.writeInt16(high)
                    w.writeEmptyTaggedFields()
                }
                w.writeInt32(0)
                w.writeEmptyTaggedFields()
            }),
            response(18, "api-versions-unsupported", { w in
                w.writeInt16(35)
                w.writeArrayCount(1)
                w.writeInt16(18)
                w.writeInt16(0)
                w.writeInt16(2)
            }),
            response(19, "create-topics", { w in
                w.writeInt32(0)
                w.writeCompactArrayCount(1)
                w.writeCompactString("emoji")
                w.writeUUID((1, 2))
                w.writeInt16(36)
                w.writeCompactNullableString("exists")
                w.writeInt32(8)
                w.writeInt16(1)
                w.writeCompactArrayCount(1)
                w.writeCompactString("retention.ms")
                w.writeCompactNullableString("-1")
                w.writeBool(false)
                w.writeInt8(5)
                w.writeBool(false)
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
                w.writeEmptyTaggedFields()
            }),
            response(22, "init-producer-id", { w in
                w.writeInt32(0)
                w.writeInt16(0)
                w.writeInt64(4000)
                w.writeInt16(0)
                w.writeEmptyTaggedFields()
            }),
            selected(keys.count, "record-batches", batch),
            selected(keys.count + 1, "record-batches-no-crc", batch),
            selected(keys.count + 2, "subscription", ConsumerProtocol.encodeSubscription(topics: ["emoji", "emoji-counts"])),
            selected(keys.count + 3, "assignment", ConsumerProtocol.encodeAssignment(["emoji": [0, 3], "publisher-emojis": [0]])),
        ]
    }
}
