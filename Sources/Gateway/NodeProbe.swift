import Foundation
import NIOCore
import NIOPosix

/// Whether a node answers, as the gateway asks it (``NodeProber`` every second, ``DeadNodeCheck`` when a viewer
/// reconnects from it).
enum NodeProbe {
    /// nil when the node answers: over plain HTTP, the first bytes of an answer to `GET /healthz` within `timeout`. A
    /// TCP connection alone is no proof: the kernel accepts connections on the listening socket of a process that is
    /// frozen (SIGSTOP, a stalled VM) or being killed. Over TLS, a TCP connection within `timeout`.
    static func problem(_ url: String, timeout: Duration) async -> String? {
        guard let components = URLComponents(string: url), let host = components.host else { return "no host in \(url)" }
        guard components.scheme == "http" || components.scheme == "ws" else {
            return await connectProblem(url, timeout: timeout)
        }
        let port = components.port ?? 80
        do {
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                        .connectTimeout(TimeAmount(timeout))
                        .connect(host: host, port: port) { channel in
                            channel.eventLoop.makeCompletedFuture {
                                try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                            }
                        }
                    return try await channel.executeThenClose { inbound, outbound in
                        try await outbound.write(
                            ByteBuffer(string: "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n"))
                        for try await chunk in inbound where chunk.readableBytes > 0 {
                            return nil
                        }
                        return "closed the connection without answering"
                    }
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return "no answer within \(timeout)"
                }
                defer { group.cancelAll() }
                return try await group.next() ?? "no answer"
            }
        } catch {
            return "\(error)"
        }
    }

    /// nil when a TCP connection to the URL's host and port opens within `timeout`, else what went wrong.
    static func connectProblem(_ url: String, timeout: Duration) async -> String? {
        guard let components = URLComponents(string: url), let host = components.host else { return "no host in \(url)" }
        let port = components.port ?? (components.scheme == "https" || components.scheme == "wss" ? 443 : 80)
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port).get()
            try? await channel.close()
            return nil
        } catch {
            return "\(error)"
        }
    }
}
