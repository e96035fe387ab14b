/// A broker's host and port.
public struct KafkaBrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// Parses `"host:port[,host:port…]"` (whitespace around entries is ignored; IPv6 hosts as `[::1]:9092`).
    public static func parseList(_ text: String) throws -> [KafkaBrokerAddress] {
        var result: [KafkaBrokerAddress] = []
        for rawEntry in text.split(separator: ",", omittingEmptySubsequences: false) {
            let entry = rawEntry.trimmingCharacters(in: " \t\n")
            guard !entry.isEmpty else {
                throw KafkaError(.configuration, "empty broker entry in \"\(text)\" (expected host:port[,host:port…])")
            }
            let host: Substring
            let portText: Substring
            if entry.hasPrefix("[") {
                guard let close = entry.firstIndex(of: "]"),
                    entry.index(after: close) < entry.endIndex, entry[entry.index(after: close)] == ":"
                else {
                    throw KafkaError(.configuration, "bad broker address \"\(entry)\" (expected [ipv6]:port)")
                }
                host = entry[entry.index(after: entry.startIndex)..<close]
                portText = entry[entry.index(close, offsetBy: 2)...]
            } else {
                guard let colon = entry.lastIndex(of: ":"), entry.firstIndex(of: ":") == colon else {
                    throw KafkaError(.configuration, "bad broker address \"\(entry)\" (expected host:port)")
                }
                host = entry[..<colon]
                portText = entry[entry.index(after: colon)...]
            }
            guard !host.isEmpty else {
                throw KafkaError(.configuration, "bad broker address \"\(entry)\": empty host")
            }
            guard let port = Int(portText), (1...65535).contains(port) else {
                throw KafkaError(.configuration, "bad broker address \"\(entry)\": port must be 1-65535")
            }
            result.append(KafkaBrokerAddress(host: String(host), port: port))
        }
        return result
    }
}

extension StringProtocol {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
