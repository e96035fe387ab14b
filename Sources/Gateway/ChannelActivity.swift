import EmoCore
import EmoStore
import EventLog
import Foundation
import Logging
import Metrics
import PipelineTopics
import Prometheus
import ServiceLifecycle
import Synchronization

/// What the gateway knows about each live channel: viewers (live sessions in the store, so it holds across
/// node processes) and reactions per second, derived from the bursts (`total` is a window's raw count) read
/// from `publisher-emojis`.
///
/// It keeps, per channel, the bursts of the last `span` (at most `maxBurstsPerChannel`), for at most
/// `maxChannels` channels (the least recently active are forgotten first). It also keeps the per-channel series
/// of `/metrics` with bounded cardinality: the `metricsTopChannels` channels with the most reactions in the last
/// `span` have their own `channel` label, every other channel is added up under `channel="other"`.
///
/// Without an event log (a fleet gateway until it gets a shared log) reactions per second are 0.
public final class ChannelActivity: Service, Sendable {
    public struct Configuration: Sendable {
        /// Reactions per second are averaged over this span.
        public var span: Duration = .seconds(10)
        public var maxChannels: Int = 10_000
        public var maxBurstsPerChannel: Int = 512
        /// Channels with their own label in `/metrics`; the rest are `channel="other"`.
        public var metricsTopChannels: Int = 10
        /// How long a computed list is reused (the web app of every viewer polls it).
        public var maxAge: Duration = .seconds(1)
        /// A node silent this long no longer counts its viewers.
        public var nodeTTL: Duration = .seconds(10)

        public init() {}
    }

    /// One channel in `GET /api/channels`.
    public struct Figures: Sendable, Equatable, Encodable {
        public var name: String
        public var viewers: Int
        public var reactionsPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case name, viewers
            case reactionsPerSecond = "reactions_per_second"
        }
    }

    struct Recent {
        var bursts: [(end: EpochMillis, total: Int)] = []
        var lastEnd: EpochMillis = .min
    }

    struct Series {
        var reactions: Prometheus.Counter
        var rate: Prometheus.Gauge
        var viewers: Prometheus.Gauge
    }

    struct State {
        var channels: [String: Recent] = [:]
        var snapshot: (at: ContinuousClock.Instant, figures: [Figures])?
        /// Channels with their own label (besides "other").
        var labelled: Set<String> = []
        var series: [String: Series] = [:]
    }

    public let configuration: Configuration
    let log: (any EventLog)?
    let store: any PlacementStore
    let registry: PrometheusCollectorRegistry?
    let logger: Logger
    private let state = Mutex(State())

    public init(
        log: (any EventLog)?, store: any PlacementStore, registry: PrometheusCollectorRegistry?, configuration: Configuration = .init(),
        logger: Logger
    ) {
        self.log = log
        self.store = store
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        if let registry {
            state.withLock { $0.series["other"] = Self.makeSeries("other", registry) }
        }
    }

    // MARK: Reading the bursts

    public func run() async throws {
        guard let log else {
            try? await gracefulShutdown()
            return
        }
        let metrics: any MetricsFactory = registry.map { PrometheusMetricsFactory(registry: $0) } ?? NOOPMetricsHandler.instance
        try await log.consume(
            PipelineTopics.bursts,
            ConsumerOptions(topic: PipelineTopics.bursts.name, start: .latest, clientID: "gateway-channel-activity"),
            logger: logger, metrics: metrics, maxWait: .seconds(1)
        ) { poll, _ in
            for burst in poll.values {
                self.record(channel: burst.channel, windowEnd: burst.windowEnd, total: burst.total)
            }
        }
    }

    /// Adds a burst to its channel's recent activity.
    public func record(_ burst: Burst, now: EpochMillis = .now()) {
        record(channel: burst.channel, windowEnd: burst.windowEnd, total: burst.total, now: now)
    }

    /// Adds a window's reaction count to its channel's recent activity.
    public func record(channel: String, windowEnd: EpochMillis, total: Int, now: EpochMillis = .now()) {
        let horizon = now - configuration.spanMillis
        let counter = state.withLock { state -> Prometheus.Counter? in
            var recent = state.channels[channel] ?? Recent()
            recent.bursts.removeAll { $0.end <= horizon }
            recent.bursts.append((windowEnd, total))
            if recent.bursts.count > configuration.maxBurstsPerChannel { recent.bursts.removeFirst() }
            recent.lastEnd = max(recent.lastEnd, windowEnd)
            state.channels[channel] = recent
            if state.channels.count > configuration.maxChannels,
                let oldest = state.channels.min(by: { $0.value.lastEnd < $1.value.lastEnd })?.key
            {
                state.channels[oldest] = nil
            }
            let label = state.labelled.contains(channel) ? channel : "other"
            return state.series[label]?.reactions
        }
        counter?.increment(by: Int64(total))
    }

    /// Reactions per second of every channel active in the last `span`.
    func rates(now: EpochMillis) -> [String: Double] {
        let horizon = now - configuration.spanMillis
        let seconds = Double(configuration.spanMillis) / 1000
        return state.withLock { state in
            var rates: [String: Double] = [:]
            for (channel, recent) in state.channels {
                let sum = recent.bursts.reduce(0) { $1.end > horizon ? $0 + $1.total : $0 }
                if sum > 0 { rates[channel] = Double(sum) / seconds }
            }
            return rates
        }
    }

    // MARK: The list

    /// Live channels (with viewers or recent reactions), most popular first: by viewers, then reactions per second,
    /// then name. Reuses a list computed less than `maxAge` ago.
    public func channels() async throws -> [Figures] {
        if let snapshot = state.withLock({ $0.snapshot }), ContinuousClock.now - snapshot.at < configuration.maxAge {
            return snapshot.figures
        }
        return try await refresh()
    }

    /// Computes the list anew (and the per-channel series of `/metrics`).
    @discardableResult
    public func refresh() async throws -> [Figures] {
        let viewers = try await store.viewersByChannel(now: Date(), nodeTTL: configuration.nodeTTL)
        let rates = rates(now: .now())
        var figures: [Figures] = []
        for name in Set(viewers.keys).union(rates.keys) {
            let count = viewers[name] ?? 0
            let rate = ((rates[name] ?? 0) * 100).rounded() / 100
            guard count > 0 || rate > 0 else { continue }
            figures.append(Figures(name: name, viewers: count, reactionsPerSecond: rate))
        }
        figures.sort {
            ($0.viewers, $0.reactionsPerSecond) != ($1.viewers, $1.reactionsPerSecond)
                ? ($0.viewers, $0.reactionsPerSecond) > ($1.viewers, $1.reactionsPerSecond) : $0.name < $1.name
        }
        updateSeries(figures)
        let list = figures
        state.withLock { $0.snapshot = (.now, list) }
        return figures
    }

    /// Relabels the per-channel series: the top channels by recent reactions (then viewers) get their own label.
    func updateSeries(_ figures: [Figures]) {
        guard let registry else { return }
        let top = figures.sorted {
            ($0.reactionsPerSecond, $0.viewers) != ($1.reactionsPerSecond, $1.viewers)
                ? ($0.reactionsPerSecond, $0.viewers) > ($1.reactionsPerSecond, $1.viewers) : $0.name < $1.name
        }.prefix(configuration.metricsTopChannels).filter { $0.name != "other" }
        let labelled = Set(top.map(\.name))
        let retired = state.withLock { state -> [Series] in
            let gone = state.labelled.subtracting(labelled)
            for name in labelled.subtracting(state.labelled) { state.series[name] = Self.makeSeries(name, registry) }
            state.labelled = labelled
            return gone.compactMap { state.series.removeValue(forKey: $0) }
        }
        for series in retired {
            registry.unregisterCounter(series.reactions)
            registry.unregisterGauge(series.rate)
            registry.unregisterGauge(series.viewers)
        }
        var otherViewers = 0
        var otherRate = 0.0
        let series = state.withLock { $0.series }
        for figure in figures {
            if let own = series[figure.name], labelled.contains(figure.name) {
                own.viewers.set(Int64(figure.viewers))
                own.rate.set(figure.reactionsPerSecond)
            } else {
                otherViewers += figure.viewers
                otherRate += figure.reactionsPerSecond
            }
        }
        series["other"]?.viewers.set(Int64(otherViewers))
        series["other"]?.rate.set(otherRate)
    }

    static func makeSeries(_ channel: String, _ registry: PrometheusCollectorRegistry) -> Series {
        let labels = [("channel", channel)]
        return Series(
            reactions: registry.makeCounter(descriptor: Self.reactionsMetric, labels: labels),
            rate: registry.makeGauge(descriptor: Self.rateMetric, labels: labels),
            viewers: registry.makeGauge(descriptor: Self.viewersMetric, labels: labels))
    }

    static var reactionsMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "emostream", metricName: "channel_reactions", unitName: "total",
            helpText: "Reactions counted in the bursts of the busiest channels; every other channel is channel=\"other\".")
    }

    static var rateMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "emostream", metricName: "channel_reactions", unitName: "per_second",
            helpText: "Reactions per second over the last span, per busiest channel and channel=\"other\".")
    }

    static var viewersMetric: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "emostream", metricName: "channel", unitName: "viewers",
            helpText: "Live viewer sessions per busiest channel and channel=\"other\".")
    }
}

extension ChannelActivity.Configuration {
    var spanMillis: EpochMillis {
        max(1, span.components.seconds * 1000 + span.components.attoseconds / 1_000_000_000_000_000)
    }
}
