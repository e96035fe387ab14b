import NIOCore
import Testing

@testable import KafkaWire

func bytes(_ hex: String) -> [UInt8] {
    let clean = hex.filter { !$0.isWhitespace }
    var out: [UInt8] = []
    var index = clean.startIndex
    while index < clean.endIndex {
        let next = clean.index(index, offsetBy: 2)
        out.append(UInt8(clean[index..<next], radix: 16)!)
        index = next
    }
    return out
}

func written(_ body: (inout KafkaWriter) -> Void) -> [UInt8] {
    var w = KafkaWriter()
    body(&w)
    return Array(w.buffer.readableBytesView)
}

func reader(_ hex: String) -> KafkaReader {
    KafkaReader(buffer: ByteBuffer(bytes: bytes(hex)))
}

@Suite struct ProtocolPrimitiveTests {
    @Test func zigZagVarints() throws {
        #expect(written { $0.writeVarint(0) } == [0x00])
        #expect(written { $0.writeVarint(-1) } == [0x01])
        #expect(written { $0.writeVarint(1) } == [0x02])
        #expect(written { $0.writeVarint(-2) } == [0x03])
        #expect(written { $0.writeVarint(63) } == [0x7e])
        #expect(written { $0.writeVarint(-64) } == [0x7f])
        #expect(written { $0.writeVarint(64) } == [0x80, 0x01])
        #expect(written { $0.writeVarint(Int32.max) } == [0xfe, 0xff, 0xff, 0xff, 0x0f])
        #expect(written { $0.writeVarint(Int32.min) } == [0xff, 0xff, 0xff, 0xff, 0x0f])
        for value: Int32 in [0, -1, 1, 300, -300, Int32.max, Int32.min] {
            var r = KafkaReader(buffer: ByteBuffer(bytes: written { $0.writeVarint(value) }))
            #expect(try r.readVarint() == value)
        }
    }

    @Test func unsignedVarints() throws {
        #expect(written { $0.writeUVarint(0) } == [0x00])
        #expect(written { $0.writeUVarint(127) } == [0x7f])
        #expect(written { $0.writeUVarint(300) } == [0xac, 0x02])
        var r = reader("ac02")
        #expect(try r.readUVarint() == 300)
    }

    @Test func varlongExtremes() throws {
        // zig-zag(Int64.min) = UInt64.max: ten bytes, nine 0xff then 0x01.
        #expect(written { $0.writeVarlong(Int64.min) } == [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        #expect(written { $0.writeVarlong(Int64.max) } == [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])
        #expect(written { $0.writeVarlong(-1) } == [0x01])
        for value: Int64 in [0, -1, 1, 1_700_000_000_000, Int64.min, Int64.max] {
            var r = KafkaReader(buffer: ByteBuffer(bytes: written { $0.writeVarlong(value) }))
            #expect(try r.readVarlong() == value)
        }
    }

    @Test func truncatedVarintThrows() {
        var r = reader("80")
        #expect(throws: KafkaError.self) { try r.readUVarint() }
    }

    @Test func compactEncodings() throws {
        #expect(written { $0.writeCompactString("abc") } == [0x04, 0x61, 0x62, 0x63])
        #expect(written { $0.writeCompactString("") } == [0x01])
        #expect(written { $0.writeCompactNullableString(nil) } == [0x00])
        #expect(written { $0.writeCompactNullableBytes(nil) } == [0x00])
        #expect(written { $0.writeCompactBytes(ByteBuffer(bytes: [9, 8])) } == [0x03, 0x09, 0x08])
        #expect(written { $0.writeCompactArrayCount(nil) } == [0x00])
        #expect(written { $0.writeCompactArrayCount(0) } == [0x01])
        #expect(written { $0.writeCompactArrayCount(2) } == [0x03])
        #expect(written { $0.writeNullableString(nil) } == [0xff, 0xff])
        #expect(written { $0.writeNullableString("id") } == [0x00, 0x02, 0x69, 0x64])

        var r = reader("04616263 00 01 03 0908 00 03 0001 0002")
        #expect(try r.readCompactString() == "abc")
        #expect(try r.readCompactNullableString() == nil)
        #expect(try r.readCompactNullableString() == "")
        #expect(try r.readCompactBytes() == ByteBuffer(bytes: [9, 8]))
        #expect(try r.readCompactArrayCount() == nil)
        #expect(try r.readCompactArrayCount() == 2)
    }

    @Test func compactLengthBeyondDataThrows() {
        var r = reader("0561")
        #expect(throws: KafkaError.self) { try r.readCompactString() }
    }

    @Test func taggedFieldsAreSkipped() throws {
        // 3 tags: tag 0 (1 byte), tag 1 (8 bytes), tag 7 unknown (2 bytes); then an int16 that must still read.
        var r = reader("03 00 01 01 01 08 ffffffffffffffff 07 02 abcd 002a")
        try r.skipTaggedFields()
        #expect(try r.readInt16() == 42)
        var empty = reader("00 0007")
        try empty.skipTaggedFields()
        #expect(try empty.readInt16() == 7)
    }

    @Test func requestHeaderV2() {
        let header = written {
            KafkaHeaders.writeRequestHeader(
                into: &$0, apiKey: 18, version: 3, correlationID: 7, clientID: "kw", headerVersion: 2)
        }
        // api_key 18, api_version 3, correlation 7, client_id "kw" (classic int16 length), empty tags.
        #expect(header == bytes("0012 0003 00000007 0002 6b77 00"))
        let v1 = written {
            KafkaHeaders.writeRequestHeader(
                into: &$0, apiKey: 3, version: 1, correlationID: 1, clientID: nil, headerVersion: 1)
        }
        #expect(v1 == bytes("0003 0001 00000001 ffff"))
    }

    @Test func responseHeaderVersions() {
        #expect(KafkaHeaders.responseHeaderVersion(apiKey: 18, flexible: true) == 0)
        #expect(KafkaHeaders.responseHeaderVersion(apiKey: 3, flexible: true) == 1)
        #expect(KafkaHeaders.responseHeaderVersion(apiKey: 3, flexible: false) == 0)
    }

    @Test func apiVersionsResponseV3WithTansuTags() throws {
        // Body after the v0 response header (correlation id only): error 0, 2 keys, throttle 0, and the four
        // tagged fields Tansu always sends: {0: 01, 1: ffffffffffffffff, 2: 01, 3: 00}.
        var r = reader(
            """
            0000
            03 0000 0000 000b 00  0012 0000 0004 00
            00000000
            04 00 01 01  01 08 ffffffffffffffff  02 01 01  03 01 00
            """)
        let response = try ApiVersionsRequest.decodeResponse(from: &r, version: 3)
        #expect(response.errorCode == 0)
        #expect(response.apiKeys[0] == 0...11)
        #expect(response.apiKeys[18] == 0...4)
        #expect(r.readableBytes == 0)
    }

    @Test func apiVersionsRequestBody() {
        let body = written { ApiVersionsRequest(clientSoftwareName: "kw", clientSoftwareVersion: "1").encode(into: &$0, version: 3) }
        #expect(body == bytes("03 6b77 02 31 00"))
    }

    @Test func brokerAddressParsing() throws {
        #expect(try KafkaBrokerAddress.parseList("127.0.0.1:9092") == [KafkaBrokerAddress(host: "127.0.0.1", port: 9092)])
        #expect(
            try KafkaBrokerAddress.parseList("a:1, b:2") == [
                KafkaBrokerAddress(host: "a", port: 1), KafkaBrokerAddress(host: "b", port: 2),
            ])
        #expect(try KafkaBrokerAddress.parseList("[::1]:9092") == [KafkaBrokerAddress(host: "::1", port: 9092)])
        for bad in ["", "host", "host:", ":9092", "host:0", "host:70000", "a:1,,b:2", "host:x"] {
            #expect(throws: KafkaError.self) { try KafkaBrokerAddress.parseList(bad) }
        }
    }
}
