// MARK: - RedisClusterConfig

/// A Redis Cluster: the connector reads the slot map from any of the seed nodes
/// (`CLUSTER SLOTS`), sends each command to the master of its key's slot, follows `MOVED`
/// and `ASK` redirections and reads the map again when the topology changes (a failover).
///
/// In a node's JSON: `"cluster": {"seeds": [{"host": "h1", "port": 7000}, ...], "shards": 3}`;
/// as a URL `redis-cluster://h1:7000,h2:7001?shards=3`. The node's user and password are
/// every cluster node's; a cluster has database 0 only.
///
/// Every key of a queue carries one hash tag, `{NAME}` (`{NAME}.delayed`, ...), so that each
/// transaction and script stays in one slot: in cluster mode the key names differ from Python
/// sergeant's (`NAME`, `NAME.delayed`) by the braces; locks (`__lock__.NAME`) and keys keep
/// their names.
public struct RedisClusterConfig: Codable, Sendable, Hashable {
    /// One cluster node's address (a seed).
    public typealias Address = RedisSentinelConfig.Address

    /// Nodes to read the slot map from, in order; the first that answers is used. Any node
    /// of the cluster will do, master or replica.
    public var seeds: [Address]
    /// How many hash tags one queue is spread over (``RedisClusterShards``): 1 keeps a queue
    /// in one slot (`{NAME}`); K > 1 gives it K tags placed in K equal parts of the slot range,
    /// so on K or more masters with evenly spread slots each shard has its own master. Pushes
    /// rotate over the shards and pops visit every shard before reporting empty.
    public var shards: Int

    /// Creates a cluster configuration.
    public init(seeds: [Address], shards: Int = 1) {
        self.seeds = seeds
        self.shards = shards
    }

    enum CodingKeys: String, CodingKey {
        case seeds, shards
    }

    /// Decodes JSON in which `shards` may be left out (1).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(seeds: try container.decode([Address].self, forKey: .seeds),
                  shards: try container.decodeIfPresent(Int.self, forKey: .shards) ?? 1)
    }
}
