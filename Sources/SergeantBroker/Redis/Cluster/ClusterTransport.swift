import Logging
import SergeantCore

// MARK: - ClusterTransport

/// The ``RedisTransport`` of a connection to a Redis Cluster: each connection goes to the
/// master that serves ``slot`` in the shared ``ClusterSlotMap``, read again before every
/// connection but the first (a connection is made again after a failure, a failover or a
/// redirection, see ``RedisConnection/checkSlot(_:)``). The node's own transport (TCP or TLS)
/// opens the stream there.
final class ClusterTransport: RedisTransport {
    /// The slot map shared by the connector's connections.
    let map: ClusterSlotMap
    /// The hash slot whose master this connection talks to; a connection for keys of any
    /// slot changes it before each command (a change of master reconnects).
    var slot: Int
    /// Reaches the master once it is known.
    let inner: any RedisTransport
    private let logger: Logger
    /// Where the latest connection went.
    private(set) var connected: RedisClusterConfig.Address?

    /// A transport to the master of `slot`.
    init(map: ClusterSlotMap, slot: Int, inner: any RedisTransport, logger: Logger) {
        self.map = map
        self.slot = slot
        self.inner = inner
        self.logger = logger
    }

    func connect(to node: RedisNode) throws(BrokerError) -> any RedisStream {
        // The first connection trusts a fresh map; every later one reads it again.
        let master = try map.master(for: slot, refresh: connected != nil)
        if let connected, connected != master {
            logger.info("redis cluster: slot \(slot) is now served by \(master) (was \(connected))",
                        metadata: ["slot": "\(slot)", "master": "\(master)"])
        }
        var target = map.template
        target.host = master.host
        target.port = master.port
        let stream = try inner.connect(to: target)
        connected = master
        return stream
    }
}

// MARK: - Redirections

extension RedisConnection {
    /// Throws, for the reconnect (which reads the slot map again), when a cluster node did not
    /// run a command because another node serves its slot (`-MOVED`, `-ASK` during a slot
    /// migration), the slot is being failed over (`-TRYAGAIN`, `-CLUSTERDOWN`). The command
    /// did not run, so sending it again is safe. An `ASK` is followed by waiting for the
    /// migration to end (then the slot's new master answers), not by `ASKING`.
    func checkSlot(_ reply: RedisReply) throws(BrokerError) {
        guard case .error(let message) = reply, Self.isRedirection(message),
              let cluster = transport as? ClusterTransport else { return }
        cluster.map.stale = true
        throw BrokerError("redis \(node): \(message); reading the cluster's slot map again")
    }

    /// True for the error replies of ``checkSlot(_:)``.
    static func isRedirection(_ message: String) -> Bool {
        message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") || message.hasPrefix("TRYAGAIN")
            || message.hasPrefix("CLUSTERDOWN")
    }

    /// True when a transaction of this cluster connection was refused for its slot: a command
    /// of `replies` (MULTI's QUEUED replies) was redirected, so EXEC aborted and nothing ran.
    func transactionRedirected(_ replies: [RedisReply]) -> Bool {
        guard transport is ClusterTransport else { return false }
        for case .error(let message) in replies where Self.isRedirection(message) {
            (transport as? ClusterTransport)?.map.stale = true
            return true
        }
        return false
    }
}
