import NIOCore
import NIOHTTP1
import NIOPosix

// MARK: - MetricsServer

/// A small HTTP/1.1 server (swift-nio) that answers `GET /metrics` with what `render` returns,
/// in Prometheus's text exposition format, and 404 elsewhere. Runs on threads of its own; the
/// caller's thread only binds and, at the end, closes.
///
/// ```swift
/// let server = try MetricsServer(host: "127.0.0.1", port: 9464) { metrics.exposition() }
/// // ... curl http://127.0.0.1:9464/metrics
/// server.close()
/// ```
public final class MetricsServer: Sendable {
    private let group: MultiThreadedEventLoopGroup
    private let channel: any Channel
    /// The port it listens on (the one asked for, or the one the system picked for 0).
    public let port: Int

    /// Binds `host:port` and serves until ``close()``; throws ``MetricsServerError`` when the
    /// address cannot be bound.
    public init(host: String, port: Int, render: @escaping @Sendable () -> String) throws(MetricsServerError) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(render: render))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw MetricsServerError(host: host, port: port, reason: "\(error)")
        }
        self.group = group
        self.port = channel.localAddress?.port ?? port
    }

    /// Stops listening and ends the server's threads.
    public func close() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// The metrics address could not be bound.
public struct MetricsServerError: Error, CustomStringConvertible, Sendable {
    /// The address asked for.
    public let host: String
    public let port: Int
    /// What the system said.
    public let reason: String

    public var description: String {
        "cannot serve metrics on \(host):\(port): \(reason); pick another --metrics-port (0 lets the system choose)"
    }
}

// MARK: - MetricsHandler

/// Answers each request of one connection.
final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let render: @Sendable () -> String
    private var head: HTTPRequestHead?

    init(render: @escaping @Sendable () -> String) {
        self.render = render
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            head = request
        case .body:
            break
        case .end:
            guard let request = head else { return }
            head = nil
            let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
            let found = request.method == .GET && path == "/metrics"
            let body = found ? render() : "not found: the metrics are at GET /metrics\n"
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: found ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain; charset=utf-8")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: found ? .ok : .notFound,
                                                                 headers: headers))), promise: nil)
            var buffer = context.channel.allocator.buffer(capacity: body.utf8.count)
            buffer.writeString(body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}
