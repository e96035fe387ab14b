/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven (slicing-by-8), as RecordBatch v2 uses.
enum CRC32C {
    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for i in 0..<256 {
            var crc = UInt32(i)
            for _ in 0..<8 {
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1
            }
            tables[0][i] = crc
        }
        for i in 0..<256 {
            var crc = tables[0][i]
            for t in 1..<8 {
                crc = tables[0][Int(crc & 0xFF)] ^ (crc >> 8)
                tables[t][i] = crc
            }
        }
        return tables
    }()

    static func checksum(_ bytes: UnsafeRawBufferPointer, initial: UInt32 = 0) -> UInt32 {
        var crc = ~initial
        var index = 0
        let count = bytes.count
        let t0 = tables[0], t1 = tables[1], t2 = tables[2], t3 = tables[3]
        let t4 = tables[4], t5 = tables[5], t6 = tables[6], t7 = tables[7]
        while count - index >= 8 {
            let b0 = UInt32(bytes[index]), b1 = UInt32(bytes[index + 1])
            let b2 = UInt32(bytes[index + 2]), b3 = UInt32(bytes[index + 3])
            let lo = crc ^ (b0 | b1 << 8 | b2 << 16 | b3 << 24)
            crc =
                t7[Int(lo & 0xFF)] ^ t6[Int((lo >> 8) & 0xFF)] ^ t5[Int((lo >> 16) & 0xFF)] ^ t4[Int(lo >> 24)]
                ^ t3[Int(bytes[index + 4])] ^ t2[Int(bytes[index + 5])] ^ t1[Int(bytes[index + 6])]
                ^ t0[Int(bytes[index + 7])]
            index += 8
        }
        while index < count {
            crc = t0[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
            index += 1
        }
        return ~crc
    }

    static func checksum<S: Sequence>(_ bytes: S) -> UInt32 where S.Element == UInt8 {
        Array(bytes).withUnsafeBytes { checksum($0) }
    }
}
