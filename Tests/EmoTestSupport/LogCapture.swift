import Logging
import Synchronization

/// Every log line of the loggers it makes, at every level (trace included), as text with its metadata: for tests
/// that check what a process writes to its logs (e.g. that no password, token or ticket ever appears in them).
public final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    public init() {}

    /// A logger at `.trace` that records into this capture.
    public func logger(label: String = "capture") -> Logger {
        var logger = Logger(label: label, factory: { label in Handler(label: label, capture: self) })
        logger.logLevel = .trace
        return logger
    }

    /// Everything recorded so far, one line per entry.
    public var text: String { lines.withLock { $0.joined(separator: "\n") } }
    public var count: Int { lines.withLock { $0.count } }

    func record(_ line: String) {
        lines.withLock { $0.append(line) }
    }

    struct Handler: LogHandler {
        let label: String
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var metadataProvider: Logger.MetadataProvider?
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            var all = metadata
            if let provided = metadataProvider?.get() { all.merge(provided) { $1 } }
            if let extra = event.metadata { all.merge(extra) { $1 } }
            if let error = event.error { all["error"] = "\(error)" }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            capture.record("\(event.level) \(label) [\(event.source) \(event.file):\(event.line)] \(event.message) \(fields)")
        }
    }
}
