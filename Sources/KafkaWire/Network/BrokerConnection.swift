import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection to a broker: length-prefixed frames, correlation ids matched to waiting requests, a timeout
/// per request, every pending request failed when the connection closes. Created connected and negotiated
/// (ApiVersions v3).
final class BrokerConnection: Sendable {
    let address: KafkaBrokerAddress
    let channel: any Channel
    let clientID: String
    let requestTimeout: Duration
    private let apiVersions: Mutex<[Int16: ClosedRange<Int16>]>

    private init(address: KafkaBrokerAddress, channel: any Channel, clientID: String, requestTimeout: Duration) {
        self.address = address
        self.channel = channel
        self.clientID = clientID
        self.requestTimeout = requestTimeout
        self.apiVersions = Mutex([:])
    }

    var isActive: Bool { channel.isActive }

    static func connect(
        to address: KafkaBrokerAddress, configuration: KafkaClientConfiguration, logger: Logger
    ) async throws -> BrokerConnection {
        let description = address.description
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(max(1, configuration.connectTimeout.kafkaMillis)))
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(KafkaFrameDecoder()))
                    try channel.pipeline.syncOperations.addHandler(KafkaRequestHandler(description: description))
                }
            }
        let channel: any Channel
        do {
            channel = try await bootstrap.connect(host: address.host, port: address.port).get()
        } catch {
            throw KafkaError(.connectionFailed, "cannot connect to \(address): \(error)")
        }
        let connection = BrokerConnection(
            address: address, channel: channel, clientID: configuration.clientID,
            requestTimeout: configuration.requestTimeout)
        do {
            let response = try await connection.send(ApiVersionsRequest(), version: 3)
            guard response.errorCode == 0 else {
                throw KafkaError(
                    .unsupportedVersion,
                    "broker \(address) rejected ApiVersions v3 (error \(response.errorCode)); KafkaWire needs Kafka 3.0 or later"
                )
            }
            connection.apiVersions.withLock { $0 = response.apiKeys }
            logger.debug(
                "connected to Kafka broker", metadata: ["broker": "\(address)", "apis": "\(response.apiKeys.count)"])
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    func close() {
        channel.close(promise: nil)
    }

    /// The highest version of `R` that both sides support.
    func version<R: KafkaRequest>(for type: R.Type) throws -> Int16 {
        let range = apiVersions.withLock { $0[R.apiKey.rawValue] }
        guard let range else {
            throw KafkaError(.unsupportedVersion, "broker \(address) does not support \(R.apiKey)")
        }
        let supported = R.supportedVersions
        let best = min(range.upperBound, supported.upperBound)
        guard best >= supported.lowerBound, best >= range.lowerBound else {
            throw KafkaError(
                .unsupportedVersion,
                "broker \(address) supports \(R.apiKey) v\(range.lowerBound)-\(range.upperBound); KafkaWire needs v\(supported.lowerBound)-\(supported.upperBound)"
            )
        }
        return best
    }

    /// Sends a request and waits for its response.
    func send<R: KafkaRequest>(_ request: R, timeout: Duration? = nil) async throws -> R.Response {
        try await send(request, version: try version(for: R.self), timeout: timeout)
    }

    private func send<R: KafkaRequest>(_ request: R, version: Int16, timeout: Duration? = nil) async throws
        -> R.Response
    {
        var writer = KafkaWriter(capacity: 128)
        writer.writeInt32(0)  // size, patched
        KafkaHeaders.writeRequestHeader(
            into: &writer, apiKey: R.apiKey.rawValue, version: version, correlationID: 0, clientID: clientID,
            headerVersion: 2)
        request.encode(into: &writer, version: version)
        writer.buffer.setInteger(Int32(writer.buffer.readableBytes - 4), at: writer.buffer.readerIndex)
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        let timeoutMs = (timeout ?? requestTimeout).kafkaMillis
        let pending = KafkaRequestHandler.PendingRequest(
            frame: writer.buffer, promise: promise, timeout: .milliseconds(timeoutMs))
        channel.writeAndFlush(pending).whenFailure { error in
            promise.fail(
                (error as? KafkaError)
                    ?? KafkaError(.connectionClosed, "cannot send \(R.apiKey) to \(self.address): \(error)"))
        }
        let frame = try await promise.futureResult.get()
        do {
            return try R.decodeResponse(frame: frame, version: version)
        } catch let error as KafkaError {
            throw KafkaError(error.code, "\(R.apiKey) v\(version) response from \(address): \(error.message)")
        }
    }
}
