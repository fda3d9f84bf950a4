import Logging
import SergeantCore

// MARK: - RedisClusterConnector

/// sergeant's Redis connector on a Redis Cluster (``RedisClusterConfig``): a topology layer
/// above single-node ``RedisConnector``s, not a copy of one.
///
/// The ``Broker`` hands it hash-tagged key spaces (``HashTaggedKeys``: `{NAME}`,
/// `{NAME}.delayed`, ...), so every transaction and script of a queue stays in one slot. Each
/// shard of a queue (``RedisClusterShards``: `{NAME}` alone, or K tags) is a single-node
/// connector whose one connection goes to the master of the shard's slot (``ClusterTransport``)
/// and runs every step exactly as on one Redis, its keys renamed to the shard's tag. Over the
/// shards it does what Python sergeant's multi-node mode does over nodes: pushes rotate from a
/// random start, pops visit every shard before reporting empty, counts and purges add up, and
/// each in-flight list lives beside its shard. Keys and locks (`__lock__.NAME`, untagged) go
/// to the master of their own slot.
public final class RedisClusterConnector: QueueConnector, HashTaggedKeys {
    /// The shards of one queue.
    final class Shards {
        /// Per shard: its tag and its connector.
        let tags: [String]
        let connectors: [RedisConnector]

        init(tags: [String], connectors: [RedisConnector]) {
            self.tags = tags
            self.connectors = connectors
        }

        /// `key` (`{NAME}REST`) on shard `index`: `{TAG}REST`.
        func key(_ key: String, shard index: Int) -> String {
            "{" + tags[index] + "}" + RedisClusterShards.split(key).rest
        }

        /// The key space of shard `index`.
        func keys(shard index: Int) -> KeySpace { KeySpace(queue: tags[index], hashTag: true) }
    }

    /// Where each slot is served.
    let map: ClusterSlotMap
    /// The seeds' node: user, password, TLS and durability of every connection.
    let node: RedisNode
    /// Shards per queue.
    public let shardCount: Int
    let logger: Logger
    let reconnectTimeout: Double
    /// The shards of each queue (by the queue's tag), made on first use.
    var queues: [String: Shards] = [:]
    /// Connectors for keys and locks, one per master address.
    var keyConnectors: [RedisClusterConfig.Address: (connector: RedisConnector, transport: ClusterTransport)] = [:]
    /// The next shard of the rotation.
    var nextShard: Int

    /// Creates a connector on the cluster `node` names (``RedisNode/cluster``); connections
    /// open on first use.
    public init(node: RedisNode, logger: Logger, reconnectTimeout: Double = 30) {
        precondition(node.cluster != nil, "a cluster connector needs a node with a cluster")
        self.node = node
        shardCount = max(1, node.cluster?.shards ?? 1)
        map = ClusterSlotMap(node: node, logger: logger)
        self.logger = logger
        self.reconnectTimeout = reconnectTimeout
        nextShard = Int.random(in: 0..<shardCount)
    }

    /// A single-node connector whose connection goes to the master of `slot`.
    func makeConnector(slot: Int) -> (RedisConnector, ClusterTransport) {
        let connector = RedisConnector(nodes: [map.template], logger: logger, reconnectTimeout: reconnectTimeout)
        let direct: any RedisTransport = node.tls.map { TLSTransport(config: $0) } ?? TCPTransport()
        let transport = ClusterTransport(map: map, slot: slot, inner: direct, logger: logger)
        connector.connections[0].transport = transport
        return (connector, transport)
    }

    /// The shards of the queue whose key (or one of whose keys) is `key`.
    func shards(of key: String) -> Shards {
        let tag = RedisClusterShards.split(key).tag
        if let known = queues[tag] { return known }
        let tags = RedisClusterShards.tags(of: tag, shards: shardCount)
        let shards = Shards(tags: tags, connectors: tags.map { makeConnector(slot: ClusterSlotMap.slot(of: "{\($0)}")).0 })
        queues[tag] = shards
        return shards
    }

    /// The shard indexes in rotation order, from the next one; the rotation moves on by one.
    func rotation() -> [Int] {
        let start = nextShard
        nextShard = (nextShard + 1) % shardCount
        return (0..<shardCount).map { (start + $0) % shardCount }
    }

    /// The connector for keys and locks whose key is `key`, pointed at its slot's master.
    func keyConnector(for key: String) throws(BrokerError) -> RedisConnector {
        let slot = ClusterSlotMap.slot(of: key)
        let master = try map.master(for: slot)
        if let known = keyConnectors[master] {
            known.transport.slot = slot
            return known.connector
        }
        let (connector, transport) = makeConnector(slot: slot)
        keyConnectors[master] = (connector, transport)
        return connector
    }

    // MARK: Queues

    public func push(queue: String, items: [[UInt8]], priority: TaskPriority, consumableFrom: Double?) throws(BrokerError) {
        guard !items.isEmpty else { return }
        let shards = shards(of: queue)
        let shard = rotation()[0]
        try shards.connectors[shard].push(queue: shards.key(queue, shard: shard), items: items, priority: priority,
                                          consumableFrom: consumableFrom)
    }

    public func pop(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        let shards = shards(of: queue)
        var items: [[UInt8]] = []
        for shard in rotation() where items.count < count {
            items += try shards.connectors[shard].pop(queue: shards.key(queue, shard: shard), count: count - items.count)
        }
        return items
    }

    public func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        let shards = shards(of: queue)
        var items: [[UInt8]] = []
        for shard in 0..<shardCount where items.count < count {
            items += try shards.connectors[shard].peek(queue: shards.key(queue, shard: shard), count: count - items.count)
        }
        return items
    }

    public func length(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int {
        let shards = shards(of: queue)
        var total = 0
        for shard in 0..<shardCount {
            total += try shards.connectors[shard].length(queue: shards.key(queue, shard: shard), includeDelayed: includeDelayed)
        }
        return total
    }

    public func delete(queue: String) throws(BrokerError) -> Bool {
        let shards = shards(of: queue)
        var deleted = false
        for shard in 0..<shardCount {
            if try shards.connectors[shard].delete(queue: shards.key(queue, shard: shard)) { deleted = true }
        }
        return deleted
    }

    /// Per shard, within the shard's slot: `source` and `destination` must be keys of one
    /// queue (`{NAME}.dead` to `{NAME}`).
    public func moveAll(from source: String, to destination: String, batch: Int,
                        _ decide: ([UInt8]) -> MoveDecision) throws(BrokerError) -> (moved: Int, kept: Int) {
        try Self.requireOneQueue(source, destination, moving: "moving")
        let shards = shards(of: source)
        var total = (moved: 0, kept: 0)
        for shard in 0..<shardCount {
            let result = try shards.connectors[shard].moveAll(from: shards.key(source, shard: shard),
                                                              to: shards.key(destination, shard: shard), batch: batch, decide)
            total.moved += result.moved
            total.kept += result.kept
        }
        return total
    }

    // MARK: Keys and locks

    public func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool {
        try keyConnector(for: key).keySet(key, value: value)
    }

    public func keyGet(_ key: String) throws(BrokerError) -> [UInt8]? {
        try keyConnector(for: key).keyGet(key)
    }

    public func keyDelete(_ key: String) throws(BrokerError) -> Bool {
        try keyConnector(for: key).keyDelete(key)
    }

    public func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        try keyConnector(for: KeySpace.lock(name)).lockTryAcquire(name, ttl: ttl)
    }

    public func lockRelease(_ name: String) throws(BrokerError) -> Bool {
        try keyConnector(for: KeySpace.lock(name)).lockRelease(name)
    }

    public func lockIsLocked(_ name: String) throws(BrokerError) -> Bool {
        try keyConnector(for: KeySpace.lock(name)).lockIsLocked(name)
    }

    public func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        try keyConnector(for: KeySpace.lock(name)).lockSetTTL(name, ttl: ttl)
    }

    public func lockGetTTL(_ name: String) throws(BrokerError) -> Int? {
        try keyConnector(for: KeySpace.lock(name)).lockGetTTL(name)
    }
}
