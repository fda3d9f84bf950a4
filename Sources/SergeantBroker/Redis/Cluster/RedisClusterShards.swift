// MARK: - RedisClusterShards

/// The hash tags of one queue on a Redis Cluster: `{NAME}` with one shard; with K > 1 shards,
/// shard k's tag is the first of `NAME#k`, `NAME#k.1`, `NAME#k.2`, ... whose hash slot lies in
/// the k-th of K equal parts of the 16,384 slots (16 slots away from its edges). The tags depend
/// on the name and K only (never on the topology), so every process finds the same ones; on a
/// cluster whose masters serve equal slot ranges (what `redis-cli --cluster create` makes) with
/// K masters, each shard lands on a master of its own.
///
/// ```swift
/// RedisClusterShards.tags(of: "q", shards: 1)   // ["q"]: keys {q}, {q}.delayed, ...
/// RedisClusterShards.tags(of: "q", shards: 3)   // three tags, one per third of the slots
/// ```
enum RedisClusterShards {
    /// The tags of queue `name` over `shards` shards.
    static func tags(of name: String, shards: Int) -> [String] {
        guard shards > 1 else { return [name] }
        let slots = ClusterSlotMap.slotCount
        return (0..<shards).map { shard in
            // Away from the parts' edges, where a cluster's own split may round the other way.
            let margin = min(16, slots / shards / 4)
            let range = (shard * slots / shards + margin)..<((shard + 1) * slots / shards - margin)
            var attempt = 0
            while true {
                let tag = attempt == 0 ? "\(name)#\(shard)" : "\(name)#\(shard).\(attempt)"
                if range.contains(ClusterSlotMap.slot(of: "{\(tag)}")) { return tag }
                attempt += 1
            }
        }
    }

    /// Splits a hash-tagged key (`{NAME}REST`) into its tag and the rest; a key without a tag
    /// is a queue of its own name (`NAME`, "").
    static func split(_ key: String) -> (tag: String, rest: Substring) {
        guard key.first == "{", let close = key.firstIndex(of: "}") else { return (key, "") }
        return (String(key[key.index(after: key.startIndex)..<close]), key[key.index(after: close)...])
    }
}
