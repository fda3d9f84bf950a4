import Logging
import SergeantCore

// MARK: - SentinelTransport

/// The ``RedisTransport`` of a node with ``RedisNode/sentinel``: each connection first asks
/// the sentinels, in order, where the master is (`SENTINEL get-master-addr-by-name`, logged in
/// with the sentinels' own credentials when configured: ``SentinelLink``), then opens the
/// stream there with the node's own transport (TCP or TLS). A connection lost in a failover,
/// one that finds itself on a replica (`ROLE` at connect, `-READONLY`, `-MASTERDOWN`; see
/// ``RedisConnection``), or one that ``SentinelWatcher`` closed at a `+switch-master`,
/// reconnects with the backoff and so asks again.
final class SentinelTransport: RedisTransport {
    /// The sentinels and the master's name.
    let config: RedisSentinelConfig
    /// Reaches the master once it is known.
    var inner: any RedisTransport
    /// Seconds a sentinel may take to connect and answer.
    var sentinelTimeout = 2
    private let logger: Logger
    /// The process's `+switch-master` subscriber for ``config``.
    let watcher: SentinelWatcher
    /// The master's address at the latest connection, to log a change.
    private(set) var master: RedisSentinelConfig.Address?

    /// A transport that finds `config`'s master and reaches it through `inner`.
    init(config: RedisSentinelConfig, inner: any RedisTransport, logger: Logger) {
        self.config = config
        self.inner = inner
        self.logger = logger
        watcher = SentinelWatcher.shared(for: config, logger: logger)
        watcher.register(self)
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
        let stream = try inner.connect(to: target)
        watcher.register(stream, at: found)
        return stream
    }

    /// Asks each sentinel in turn; the first that names the master wins. When every sentinel
    /// refused the login, the error says so (with its reason): retrying would not help.
    func discoverMaster() throws(BrokerError) -> RedisSentinelConfig.Address {
        var failures: [String] = []
        var refusals: [BrokerError] = []
        for sentinel in config.sentinels {
            do throws(BrokerError) {
                return try SentinelLink(to: sentinel, config: config, timeout: sentinelTimeout).masterAddress(of: config.masterName)
            } catch {
                failures.append("\(sentinel): \(error.message)")
                if error.reason != nil { refusals.append(error) }
            }
        }
        if refusals.count == config.sentinels.count, let first = refusals.first {
            throw BrokerError("no sentinel let the connection in: " + failures.joined(separator: "; "), reason: first.reason)
        }
        throw BrokerError("no sentinel named the master '\(config.masterName)': " + failures.joined(separator: "; ")
            + ". Check the sentinels' addresses and `sentinel monitor \(config.masterName) ...` in their configuration")
    }
}
