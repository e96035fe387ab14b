#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What one HTTP listener lets a client do before it is cut off: how many connections it holds at once, how fast
/// new ones may arrive, how long a client may take to send a request's head (which is also how long an idle
/// keep-alive connection is kept) and its body. Every refusal is a JSON error (see ``HTTPGuardHandler``).
public struct ListenerLimits: Sendable, Equatable {
    /// Connections held at once; 0: the process's open-file limit less ``reservedFiles``.
    public var maxConnections: Int
    /// New connections per second (a token bucket holding one second's worth); 0: unlimited.
    public var maxConnectionRate: Int
    /// From connection open, or from the end of the last response, until a request's head is complete: slow or
    /// missing headers (slowloris) and idle keep-alive connections are closed after it.
    public var headerTimeout: Duration
    /// From a request's head until its body is complete (a client that announces more than it sends).
    public var bodyTimeout: Duration

    /// Files kept free for everything that is not a client connection (the log, the store, peers).
    public static let reservedFiles = 256

    public init(
        maxConnections: Int = 0, maxConnectionRate: Int = 0, headerTimeout: Duration = .seconds(15),
        bodyTimeout: Duration = .seconds(30)
    ) {
        self.maxConnections = maxConnections
        self.maxConnectionRate = maxConnectionRate
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
    }

    /// ``maxConnections`` with 0 resolved against the open-file limit.
    public var effectiveMaxConnections: Int {
        if maxConnections > 0 { return maxConnections }
        return max(64, Self.openFileLimit - Self.reservedFiles)
    }

    /// The process's soft limit on open files (RLIMIT_NOFILE).
    public static var openFileLimit: Int {
        var limit = rlimit()
        #if canImport(Glibc)
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        #else
        guard getrlimit(RLIMIT_NOFILE, &limit) == 0 else { return 1024 }
        #endif
        return limit.rlim_cur > rlim_t(Int32.max) ? Int(Int32.max) : Int(limit.rlim_cur)
    }
}
