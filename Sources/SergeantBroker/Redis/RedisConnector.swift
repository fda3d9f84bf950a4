import CCompression
import Logging
import SergeantCore

// MARK: - RedisConnector

/// sergeant's Redis connector over one or more nodes, placed as Python sergeant places them:
/// pushes and pops rotate round robin over the nodes from a random start, a pop tries every
/// node before reporting empty, lengths and purges add up over all nodes, and keys and locks
/// live on node `crc32(name) % count`.
public final class RedisConnector: QueueConnector {
    /// One connection per node, in configuration order.
    public let connections: [RedisConnection]
    var nextIndex: Int
    /// Per node: until when it is skipped after a failure (multi-node only).
    var downUntil: [Double]
    let logger: Logger
    /// Seconds a failed node is skipped before it is tried again.
    static let downTime = 5.0
    /// Ids of this process's pops, for the resend checks of ``popInFlightScript`` and of the
    /// pop's transaction.
    var batch = UInt64.random(in: 0...(1 << 40))

    var inFlightPop: InFlightPop?

    /// Counter updates (``FleetRecords/stage(_:_:at:)``) waiting to go out ahead of the next
    /// round trip, on whichever node it goes to (readers add up every node).
    var stagedStats: [[[UInt8]]] = []
    /// Counts added up in memory, per queue and rate bucket, not yet in ``stagedStats``.
    var pendingCounts: [(keys: KeySpace, bucket: Int, counts: OutcomeCounts)] = []
    /// Unix time the pending counts last went into ``stagedStats``.
    var countsEncodedAt = -Double.infinity
    /// The connections' reconnects already added to the counters (``OutcomeCounts/brokerReconnects``).
    var countedReconnects = 0

    /// Per node: an at-least-once pop whose outcome is not known yet (its reply was lost and
    /// the node could not be asked since). If it ran, its tasks wait in the worker's in-flight
    /// list, so the next pop asks first instead of acknowledging that list unseen.
    var unresolvedPops: [(queue: String, worker: String, id: String)?]

    /// Creates a connector; connections open on first use.
    ///
    /// With several nodes, a node that fails is skipped for a few seconds (with a warning)
    /// while the others carry on; its connection retries for at most a second each time.
    /// A single node is retried for `reconnectTimeout` seconds, as there is nowhere else to go.
    public init(nodes: [RedisNode], logger: Logger, reconnectTimeout: Double = 30) {
        precondition(!nodes.isEmpty, "a redis connector needs at least one node")
        let timeout = nodes.count > 1 ? min(reconnectTimeout, 1) : reconnectTimeout
        connections = nodes.map { RedisConnection(node: $0, logger: logger, reconnectTimeout: timeout) }
        nextIndex = Int.random(in: 0..<nodes.count)
        downUntil = Array(repeating: 0, count: nodes.count)
        unresolvedPops = Array(repeating: nil, count: nodes.count)
        self.logger = logger
    }

    /// Runs `body` on the next live node in the rotation; a node that fails is marked down

    // MARK: Queues

    public func push(queue: String, items: [[UInt8]], priority: TaskPriority, consumableFrom: Double?) throws(BrokerError) {
        guard !items.isEmpty else { return }
        // Written straight into the connection's request: no array of arguments.
        let reply = try onNextNode { connection throws(BrokerError) in
            try connection.command { request in
                if let consumableFrom {
                    let score = String(consumableFrom)
                    request.begin(arguments: 3 + items.count * 2)
                    request.add("ZADD")
                    request.add(KeySpace.delayedSet(of: queue))
                    request.add("NX")
                    request.reserve(items, extra: items.count * (score.utf8.count + 16))
                    for item in items {
                        request.add(score)
                        request.add(item)
                    }
                } else {
                    request.begin(arguments: 2 + items.count)
                    request.add(priority == .high ? "LPUSH" : "RPUSH")
                    request.add(queue)
                    request.reserve(items)
                    for item in items { request.add(item) }
                }
            }
        }
        if case .error(let message) = reply { throw Self.pushFailure(queue: queue, count: items.count, message: message) }
    }

    /// The error of a push that Redis refused (`message`, its error reply): nothing was pushed.
    static func pushFailure(queue: String, count: Int, message: String) -> BrokerError {
        if message.hasPrefix("OOM") {
            return BrokerError("redis is out of memory and refused the push of \(count) task(s) to \(queue) (\(message));"
                + " nothing was pushed. Let workers drain the queues, purge what is not needed, or raise maxmemory"
                + " (`CONFIG SET maxmemory ...`, maxmemory in redis.conf)")
        }
        return BrokerError("push of \(count) task(s) to \(queue) failed: \(message); nothing was pushed")
    }

    public func pop(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        var items: [[UInt8]] = []
        for _ in connections.indices where items.count < count {
            try onNextNode { connection throws(BrokerError) in
                // The common case costs one plain LPOP; the script for due delayed tasks runs
                // only when the list alone did not fill the request.
                let wanted = count - items.count
                let reply = try connection.command { request in
                    request.begin(arguments: 3)
                    request.add("LPOP")
                    request.add(queue)
                    request.add(String(wanted))
                }
                try collect(reply, into: &items, queue: queue)
                guard items.count < count else { return }
                let delayed = try connection.evaluate(RedisScripts.popScript, keys: [queue, KeySpace.delayedSet(of: queue)], arguments: [
                    Array(String(count - items.count).utf8), Array(String(unixTime()).utf8),
                ])
                try collect(delayed, into: &items, queue: queue)
            }
        }
        return items
    }


    func collect(_ reply: RedisReply, into items: inout [[UInt8]], queue: String) throws(BrokerError) {
        switch reply {
        case .array(let elements):
            for case .bytes(let item) in elements { items.append(item) }
        case .bytes(let item):
            items.append(item)
        case .error(let message):
            throw BrokerError("pop from \(queue) failed: \(message)")
        default:
            break
        }
    }

    public func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        var items: [[UInt8]] = []
        try onEveryNode("reading \(queue)") { connection throws(BrokerError) in
            guard items.count < count else { return }
            try collect(try connection.command("LRANGE", queue, "0", String(count - items.count - 1)), into: &items, queue: queue)
        }
        return items
    }

    public func length(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int {
        var total = 0
        let delayed: [[UInt8]] = includeDelayed
            ? [Array("ZCARD".utf8), Array(KeySpace.delayedSet(of: queue).utf8)]
            : [Array("ZCOUNT".utf8), Array(KeySpace.delayedSet(of: queue).utf8), Array("0".utf8), Array(String(unixTime()).utf8)]
        try onEveryNode("counting \(queue)") { connection throws(BrokerError) in
            for reply in try connection.pipeline([[Array("LLEN".utf8), Array(queue.utf8)], delayed,
                                                  [Array("LLEN".utf8), Array(KeySpace(queue: queue).recovered.utf8)]]) {
                total += Int(reply.integer ?? 0)
            }
        }
        return total
    }

    public func delete(queue: String) throws(BrokerError) -> Bool {
        var deleted: Int64 = 0
        try onEveryNode("purging \(queue)") { connection throws(BrokerError) in
            deleted += try connection.command("DEL", queue, KeySpace.delayedSet(of: queue), KeySpace(queue: queue).recovered).integer ?? 0
        }
        return deleted > 0
    }

}

// MARK: - Registration

extension RedisConnector {
    /// The registry's factory (``ConnectorRegistry``): `connector.params.nodes`.
    static let make: ConnectorRegistry.Factory = { config, context throws(BrokerError) in
        guard let nodes = config.params.nodes, !nodes.isEmpty else {
            throw BrokerError("the redis connector has no nodes; list at least one in connector.params.nodes"
                + " (or pass --redis redis://HOST:PORT/DB)")
        }
        if let cluster = nodes.first(where: { $0.cluster != nil }) {
            guard nodes.count == 1 else {
                throw BrokerError("a redis cluster is one node entry (with its seeds in cluster.seeds), not one of"
                    + " \(nodes.count) nodes: list the cluster's nodes as seeds")
            }
            guard cluster.cluster?.seeds.isEmpty == false else {
                throw BrokerError("the redis cluster has no seeds; list at least one node in cluster.seeds"
                    + " (or pass --redis redis-cluster://HOST:PORT,HOST:PORT)")
            }
            return RedisClusterConnector(node: cluster, logger: context.logger, reconnectTimeout: context.reconnectTimeout)
        }
        return RedisConnector(nodes: nodes, logger: context.logger, reconnectTimeout: context.reconnectTimeout)
    }
}

// MARK: - Moving between lists

extension RedisConnector {
    /// Per node, batches of `LRANGE` under `WATCH`, then one MULTI/EXEC that trims the batch
    /// from `source` and pushes it where `decide` says: all or nothing, and read again when
    /// someone else changed `source` meanwhile.
    public func moveAll(from source: String, to destination: String, batch: Int,
                        _ decide: ([UInt8]) -> MoveDecision) throws(BrokerError) -> (moved: Int, kept: Int) {
        var moved = 0
        var kept = 0
        try onEveryNode("moving \(source) to \(destination)") { connection throws(BrokerError) in
            var left = Int(try connection.command("LLEN", source).integer ?? 0)
            while left > 0 {
                let read = try connection.pipeline([
                    ["WATCH", source].map { Array($0.utf8) },
                    ["LRANGE", source, "0", String(min(batch, left) - 1)].map { Array($0.utf8) },
                ])
                var items: [[UInt8]] = []
                try collect(read[1], into: &items, queue: source)
                guard !items.isEmpty else {
                    _ = try connection.command("UNWATCH")
                    break
                }
                let (toMove, toKeep) = MoveDecision.split(items, by: decide)
                var commands: [[[UInt8]]] = [[Array("MULTI".utf8)], ["LTRIM", source, String(items.count), "-1"].map { Array($0.utf8) }]
                if !toMove.isEmpty { commands.append([Array("RPUSH".utf8), Array(destination.utf8)] + toMove) }
                if !toKeep.isEmpty { commands.append([Array("RPUSH".utf8), Array(source.utf8)] + toKeep) }
                commands.append([Array("EXEC".utf8)])
                guard let replies = try connection.pipelineOnce(commands) else {
                    throw BrokerError("redis \(connection.node): the connection was lost while moving \(source) to \(destination);"
                        + " every entry is in one of the two lists: run the command again")
                }
                if replies.last == .null { continue }  // `source` changed under WATCH: read it again
                if case .array(let results) = replies.last, let failure = results.first(where: { if case .error = $0 { true } else { false } }) {
                    throw BrokerError("moving \(source) to \(destination) failed: \(failure)")
                }
                moved += toMove.count
                kept += toKeep.count
                left -= items.count
            }
        }
        return (moved, kept)
    }
}
