import EmoCore
import EmoHTTP
import EmoStore
import EventLog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import PipelineTopics

/// `POST /api/emojis`: validates reactions and appends them to the `emoji` topic. Accepted (202) means appended
/// to the event log; a full log answers 503 with `Retry-After` and nothing of the batch is kept.
public struct IngestController: Sendable {
    public struct Configuration: Sendable {
        /// Largest request body accepted (413 above).
        public var maxBodyBytes: Int
        public var batch: IngestBatchDecoder
        /// Reactions per second each `user_id` may send (in bursts of twice that); nil: no limit.
        public var userRate: Double?

        public init(maxBodyBytes: Int = 1 << 20, batch: IngestBatchDecoder = .init(), userRate: Double? = 20) {
            self.maxBodyBytes = maxBodyBytes
            self.batch = batch
            self.userRate = userRate
        }
    }

    let log: any EventLog
    let configuration: Configuration
    let accepted: Counter
    let rejected: Counter
    let overloaded: Counter
    let refusedUnavailable: Counter
    let refusedFull: Counter
    let refusals: RefusalLog
    let stats: PipelineStats?
    let limiter: UserRateLimiter?
    /// The channels reactions may use (nil: any valid name, nothing registered).
    let channels: ChannelRegistry?

    public init(
        log: any EventLog, configuration: Configuration = .init(), metrics: any MetricsFactory, stats: PipelineStats? = nil,
        channels: ChannelRegistry? = nil, logger: Logger = Logger(label: "emostream.ingest")
    ) {
        self.log = log
        self.refusals = RefusalLog(logger: logger)
        self.channels = channels
        self.configuration = configuration
        self.stats = stats
        self.limiter = configuration.userRate.map { UserRateLimiter(rate: $0, burst: max(1, Int(($0 * 2).rounded()))) }
        self.accepted = Counter(label: "emostream_reactions_accepted_total", factory: metrics)
        self.rejected = Counter(label: "emostream_ingest_rejected_total", factory: metrics)
        self.overloaded = Counter(label: "emostream_ingest_overloaded_total", factory: metrics)
        self.refusedUnavailable = Counter(
            label: "emostream_ingest_refused_total", dimensions: [("reason", "log_unavailable")], factory: metrics)
        self.refusedFull = Counter(label: "emostream_ingest_refused_total", dimensions: [("reason", "overloaded")], factory: metrics)
    }

    public func addRoutes<Context: RequestContext>(to router: Router<Context>) {
        router.post("/api/emojis") { request, context in
            try await ingest(request, context: context)
        }
    }

    func ingest(_ request: Request, context: some RequestContext) async throws -> Response {
        do {
            let count = try await accept(request)
            accepted.increment(by: count)
            stats?.reactionsAccepted(count)
            return jsonResponse(["accepted": count], status: .accepted)
        } catch let error as APIError {
            if error.status == .serviceUnavailable { overloaded.increment() } else { rejected.increment() }
            throw error
        }
    }

    func accept(_ request: Request) async throws -> Int {
        guard Self.isJSON(request.headers[.contentType]) else {
            throw APIError(
                .unsupportedMediaType, "unsupported_media_type", "send the reactions as Content-Type: application/json")
        }
        let idempotencyKey = try Self.idempotencyKey(request.headers[values: Self.idempotencyKeyField])
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw Self.tooLarge(configuration.maxBodyBytes)
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: configuration.maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw Self.tooLarge(configuration.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            // A chunked body (no Content-Length) that grew past the limit.
            throw Self.tooLarge(configuration.maxBodyBytes)
        }
        let reactions: [Reaction]
        do {
            reactions = try configuration.batch.decode(Data(buffer: body))
        } catch {
            var extra: [String: any Sendable] = [:]
            if let index = error.index { extra["index"] = index }
            let status: HTTPResponse.Status = error.code == .batchTooLarge ? .contentTooLarge : .badRequest
            throw APIError(status, error.code.rawValue, error.message, extra: extra)
        }
        if let channels {
            try await admitChannels(reactions, registry: channels)
        }
        if let limiter {
            var perUser: [String: Int] = [:]
            for reaction in reactions { perUser[reaction.userID, default: 0] += 1 }
            switch limiter.admit(perUser) {
            case .admitted:
                break
            case .wait(let wait):
                let seconds = max(1, Int(wait.components.seconds) + (wait.components.attoseconds > 0 ? 1 : 0))
                throw APIError(
                    .tooManyRequests, "rate_limited", "too many reactions from one user; retry in \(seconds) s",
                    extra: ["retry_after": seconds], headers: [.retryAfter: "\(seconds)"])
            case .exceedsBurst(let user, let limit):
                throw APIError(
                    .badRequest, "too_many_from_one_user",
                    "a request may hold at most \(limit) reactions of one user_id ('\(user)')", extra: ["limit": limit])
            }
        }
        do {
            // One record for the whole request: it is durable all at once or not at all. Keyed by the request's
            // idempotency key, so that a retry lands on the same partition and the processors count it once.
            var records = PipelineTopics.reactions.records([reactions])
            if let idempotencyKey { records[0].key = ByteBuffer(string: idempotencyKey) }
            try await log.append(records, to: PipelineTopics.reactions.name)
        } catch EventLogError.full {
            refusedFull.increment()
            refusals.refused(code: "overloaded", reason: "the event log is full")
            throw APIError(
                .serviceUnavailable, "overloaded", "the event log is full; retry shortly",
                headers: [.retryAfter: "1"])
        } catch EventLogError.unavailable(let reason) {
            refusedUnavailable.increment()
            refusals.refused(code: "log_unavailable", reason: "the event log did not acknowledge an append: \(reason)")
            throw APIError(
                .serviceUnavailable, "log_unavailable", "the event log did not acknowledge the reactions; retry shortly",
                headers: [.retryAfter: "1"])
        }
        return reactions.count
    }

    /// All-or-nothing: a batch with one channel the registry does not allow is refused as a whole (404).
    func admitChannels(_ reactions: [Reaction], registry: ChannelRegistry) async throws {
        var firstUse: [String: Int] = [:]
        var order: [String] = []
        var previous: String?
        for (index, reaction) in reactions.enumerated() where reaction.channel != previous {
            previous = reaction.channel
            if firstUse[reaction.channel] == nil {
                firstUse[reaction.channel] = index
                order.append(reaction.channel)
            }
        }
        let unknown: String?
        do {
            unknown = try await registry.admit(order)
        } catch {
            throw APIError(
                .serviceUnavailable, "channels_unavailable", "the channel registry cannot be read; retry shortly",
                headers: [.retryAfter: "1"])
        }
        if let unknown {
            throw APIError(
                .notFound, "unknown_channel",
                "no channel named '\(unknown)': the operator creates channels with `emostream channels add`",
                extra: ["index": firstUse[unknown] ?? 0, "channel": unknown])
        }
    }

    static let idempotencyKeyField = HTTPField.Name("Idempotency-Key")!
    /// Longest idempotency key accepted.
    public static let maxIdempotencyKeyLength = 128

    /// The request's `Idempotency-Key`: 1-128 visible ASCII characters, at most one such header.
    static func idempotencyKey(_ values: [String]) throws -> String? {
        guard let key = values.first else { return nil }
        guard values.count == 1, (1...maxIdempotencyKeyLength).contains(key.utf8.count),
            key.utf8.allSatisfy({ (0x21...0x7e).contains($0) })
        else {
            throw APIError(
                .badRequest, "invalid_idempotency_key",
                "Idempotency-Key must be one header of 1-\(maxIdempotencyKeyLength) visible ASCII characters (a UUID, say)")
        }
        return key
    }

    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        return mediaType.lowercased() == "application/json"
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, "payload_too_large", "the request body exceeds \(limit) bytes", extra: ["limit": limit])
    }
}
