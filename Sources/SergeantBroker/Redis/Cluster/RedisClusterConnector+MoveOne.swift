import SergeantCore

extension RedisClusterConnector {
    /// Per shard, within the shard's slot, the first shard holding `item` decides: `source` and
    /// `destination` must be keys of one queue (`{NAME}.dead` to `{NAME}`), so the one atomic
    /// step of ``RedisConnector/moveOne(_:from:to:as:)`` covers both.
    public func moveOne(_ item: [UInt8], from source: String, to destination: String?, as replacement: [UInt8]) throws(BrokerError) -> Bool {
        if let destination { try Self.requireOneQueue(source, destination, moving: "moving one item of") }
        let shards = shards(of: source)
        for shard in 0..<shardCount {
            let moved = try shards.connectors[shard].moveOne(item, from: shards.key(source, shard: shard),
                                                            to: destination.map { shards.key($0, shard: shard) }, as: replacement)
            if moved { return true }
        }
        return false
    }

    /// Throws unless `source` and `destination` are keys of one queue (the same hash tag): an
    /// atomic move between them must stay in one slot.
    static func requireOneQueue(_ source: String, _ destination: String, moving: String) throws(BrokerError) {
        guard RedisClusterShards.split(source).tag == RedisClusterShards.split(destination).tag else {
            throw BrokerError("\(moving) \(source) to \(destination) on a redis cluster: both must be keys of one queue"
                + " (the same {hash tag}), or one atomic step could not cover both")
        }
    }
}
