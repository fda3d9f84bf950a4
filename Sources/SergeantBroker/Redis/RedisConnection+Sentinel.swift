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
}
