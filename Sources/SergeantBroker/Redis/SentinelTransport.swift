import Logging
import SergeantCore

// MARK: - SentinelTransport

/// The ``RedisTransport`` of a node with ``RedisNode/sentinel``: each connection first asks
/// the sentinels, in order, where the master is (`SENTINEL get-master-addr-by-name`), then
/// opens the stream there with the node's own transport (TCP or TLS). A connection lost in a
/// failover, or one that finds itself on a replica (`-READONLY`, `-MASTERDOWN`; see
/// ``RedisConnection``), reconnects with the backoff and so asks again.
final class SentinelTransport: RedisTransport {
    /// The sentinels and the master's name.
    let config: RedisSentinelConfig
    /// Reaches the master once it is known.
    var inner: any RedisTransport
    /// Seconds a sentinel may take to connect and answer.
    var sentinelTimeout = 2
    private let logger: Logger
    /// The master's address at the latest connection, to log a change.
    private var master: RedisSentinelConfig.Address?

    /// A transport that finds `config`'s master and reaches it through `inner`.
    init(config: RedisSentinelConfig, inner: any RedisTransport, logger: Logger) {
        self.config = config
        self.inner = inner
        self.logger = logger
    }

    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream {
        let found = try discoverMaster()
        if found != master {
            logger.info("redis \(node): the sentinels name \(found) as the master",
                        metadata: ["node": "\(node)", "master": "\(found)"])
            master = found
        }
        var target = node
        target.host = found.host
        target.port = found.port
        return try inner.connect(to: target)
    }

    /// Asks each sentinel in turn; the first that names the master wins.
    func discoverMaster() throws(BrokerError) -> RedisSentinelConfig.Address {
        var failures: [String] = []
        for sentinel in config.sentinels {
            do throws(BrokerError) {
                let stream = try TCPTransport.Stream(node: RedisNode(host: sentinel.host, port: sentinel.port),
                                                     connectTimeout: sentinelTimeout, ioTimeout: sentinelTimeout)
                var request = RequestBuffer()
                request.append(["SENTINEL", "get-master-addr-by-name", config.masterName])
                try stream.write(request.bytes)
                let reply = try RedisReplyReader().next(from: stream)
                if case .array(let parts) = reply, parts.count == 2, case .bytes(let host) = parts[0], case .bytes(let port) = parts[1],
                   let number = Int(String(decoding: port, as: UTF8.self)) {
                    return .init(host: String(decoding: host, as: UTF8.self), port: number)
                }
                failures.append("\(sentinel) does not know a master named '\(config.masterName)' (\(reply))")
            } catch {
                failures.append("\(sentinel): \(error.message)")
            }
        }
        throw BrokerError("no sentinel named the master '\(config.masterName)': " + failures.joined(separator: "; ")
            + ". Check the sentinels' addresses and `sentinel monitor \(config.masterName) ...` in their configuration")
    }
}
