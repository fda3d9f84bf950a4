import SergeantCore

// MARK: - Durability

/// ``RedisDurability/replicated``: a `WAIT 1 1000` after the writes of a round trip, in the
/// same round trip, so that a write counts as done only when a replica has it.
extension RedisConnection {
    /// Milliseconds WAIT waits for a replica.
    static let replicationTimeoutMilliseconds = 1000

    /// The commands the connector sends that write (scripts and transactions included).
    static let writeCommands: Set<String> = [
        "rpush", "lpush", "zadd", "evalsha", "multi", "lmove", "blmove", "set", "del", "ltrim", "lrem", "sadd", "srem",
        "hincrby", "expire", "lpop", "blpop", "zremrangebyrank",
    ]

    /// True when a round trip starting with `command` waits for a replica.
    func waitsForReplica(_ command: String) -> Bool {
        node.durability == .replicated && Self.writeCommands.contains(command)
    }

    /// `WAIT 1 TIMEOUT` as the command's arguments.
    static var waitCommand: [[UInt8]] {
        [Array("WAIT".utf8), Array("1".utf8), Array(String(replicationTimeoutMilliseconds).utf8)]
    }

    /// The error of a write that no replica confirmed (`reply`: WAIT's), or nil.
    func replicationFailure(_ reply: RedisReply, command: String) -> BrokerError? {
        if let replicas = reply.integer, replicas >= 1 { return nil }
        return BrokerError("redis \(node): \(command.uppercased()) ran on the master, but no replica confirmed it within"
            + " \(Self.replicationTimeoutMilliseconds) ms (WAIT answered \(reply)); a failover now could lose it."
            + " Check the replicas (INFO replication), or use durability acknowledged", reason: .notReplicated)
    }
}
