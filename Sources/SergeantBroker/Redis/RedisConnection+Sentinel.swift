import SergeantCore

// MARK: - Sentinel

extension RedisConnection {
    /// Throws, for the reconnect (which asks the sentinels again), when a node found by
    /// sentinels answered as a replica (`-READONLY`: a failover made it one) or as a replica
    /// without its master (`-MASTERDOWN`). The command did not run, so sending it again on
    /// the new master is safe.
    func checkMaster(_ reply: RedisReply) throws(BrokerError) {
        guard node.sentinel != nil, case .error(let message) = reply,
              message.hasPrefix("READONLY") || message.hasPrefix("MASTERDOWN") else { return }
        throw BrokerError("redis \(node) is no master now (\(message)); asking the sentinels again")
    }

    /// Throws, for the reconnect with backoff (which asks the sentinels again), when `reply`
    /// (`ROLE`'s, in the connection's setup) says the node is not a master: a sentinel can
    /// name the old master for a moment after a failover. An ACL user that may not run ROLE
    /// is let through (`-READONLY` still catches a replica at the first write).
    func checkRole(_ reply: RedisReply) throws(BrokerError) {
        guard case .array(let parts) = reply, case .bytes(let role)? = parts.first else {
            logger.debug("redis \(node): ROLE answered \(reply); the node's role is not checked")
            return
        }
        let name = String(decoding: role, as: UTF8.self)
        guard name != "master" else { return }
        let address = (transport as? SentinelTransport)?.master.map { " at \($0)" } ?? ""
        throw BrokerError("redis \(node)\(address) is a \(name), not the master (ROLE); the sentinels named a stale"
            + " address, asking them again")
    }
}
