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
    private var nextIndex: Int
    /// Per node: until when it is skipped after a failure (multi-node only).
    private var downUntil: [Double]
    private let logger: Logger
    /// Seconds a failed node is skipped before it is tried again.
    static let downTime = 5.0

    /// Lua that fills `items` up to `wanted` with queued items, then due delayed ones.
    /// KEYS[1]: queue, KEYS[2]: delayed set; ARGV[1]: count, ARGV[2]: now.
    static let popQueuedThenDue = """
        items = redis.call('LPOP', KEYS[1], wanted)
        if not items then items = {} end
        if #items < wanted then
            local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[2], 'LIMIT', 0, wanted - #items)
            if #due > 0 then
                redis.call('ZREMRANGEBYRANK', KEYS[2], 0, #due - 1)
                for _, item in ipairs(due) do items[#items + 1] = item end
            end
        end
        """

    /// Pops queued items first, then due delayed ones, in one round trip.
    static let popScript = LuaScript("""
        local wanted = tonumber(ARGV[1])
        local items
        \(popQueuedThenDue)
        return items
        """)

    /// Acknowledges the worker's previous batch (clears its processing list), pops and
    /// records the items in the processing list, in one atomic step and one round trip.
    /// Tasks recovered from dead workers come first, one at a time, so that a poison task is
    /// never again in flight beside others. The script is safe to resend after a lost reply
    /// (the connection retries after a Redis restart): a batch id it has already served
    /// returns that batch again instead of acknowledging it unseen.
    /// After the items, the reply holds one integer: how many tasks the recovered list still
    /// has (``collect(_:into:queue:)`` skips it; ``pop(queue:count:inFlightFor:)`` reads it). A resent call that
    /// returns the batch again has no such integer.
    /// KEYS: queue, delayed set, processing list, processing set, batch id, recovered list.
    /// ARGV: count, now, worker, batch id.
    static let popInFlightScript = LuaScript("""
        if redis.call('GET', KEYS[5]) == ARGV[4] then
            return redis.call('LRANGE', KEYS[3], 0, -1)
        end
        redis.call('DEL', KEYS[3])
        redis.call('SET', KEYS[5], ARGV[4])
        local wanted = tonumber(ARGV[1])
        local items = {}
        local recovered = redis.call('LPOP', KEYS[6])
        if recovered then
            items[1] = recovered
        else
            \(popQueuedThenDue)
        end
        if #items > 0 then
            for first = 1, #items, 1000 do
                redis.call('RPUSH', KEYS[3], unpack(items, first, math.min(first + 999, #items)))
            end
            redis.call('SADD', KEYS[4], ARGV[3])
        end
        items[#items + 1] = redis.call('LLEN', KEYS[6])
        return items
        """)

    /// Ids of this process's pops, for the resend checks of ``popInFlightScript`` and of the
    /// pop's transaction.
    private var batch = UInt64.random(in: 0...(1 << 40))

    /// One worker's pops from one queue: their transaction (for `count` tasks), and per node
    /// whether the recovered list may hold tasks.
    private final class InFlightPop {
        let queue: String
        let worker: String
        /// Tasks per pop.
        let count: Int
        /// Per node: the next pop goes through ``popInFlightScript``, which serves the recovered
        /// list first. True until a pop has seen the list empty (and after this process
        /// reclaimed tasks, which it pushes there).
        var recoveredWaiting: [Bool]
        /// The transaction of ``RedisConnector/popInFlight(_:node:on:)`` in the wire format,
        /// before and after its one changing argument, the batch id: MULTI, DEL, SET up to the
        /// id; then the moving commands, SADD, LLEN, EXEC.
        let head: [UInt8]
        let tail: [UInt8]
        /// Commands in the tail, EXEC included.
        let tailCommands: Int
        /// Where the moved tasks are among EXEC's results.
        let itemsResult: Int

        init(queue: String, worker: String, count: Int, nodes: Int) {
            self.queue = queue
            self.worker = worker
            self.count = count
            recoveredWaiting = Array(repeating: true, count: nodes)
            let processing = processingKey(queue, worker: worker)
            var request = RequestBuffer()
            request.append(["MULTI"])
            request.append(["DEL", processing])
            request.begin(arguments: 3)
            request.add("SET")
            request.add(batchKey(queue, worker: worker))
            head = request.encoded
            request.reset()
            if count == 1 {
                request.append(["LMOVE", queue, processing, "LEFT", "RIGHT"])
                itemsResult = 2
            } else {
                // The first `count` tasks copied into the in-flight list by Redis itself (SORT
                // without sorting keeps list order), then cut from the queue, then read.
                request.append(["SORT", queue, "BY", "nosort", "LIMIT", "0", String(count), "STORE", processing])
                request.append(["LTRIM", queue, String(count), "-1"])
                request.append(["LRANGE", processing, "0", "-1"])
                itemsResult = 4
            }
            request.append(["SADD", processingSetKey(queue), worker])
            request.append(["LLEN", recoveredKey(queue)])
            request.append(["EXEC"])
            tail = request.encoded
            tailCommands = count == 1 ? 4 : 6
        }

        /// Commands in the whole transaction, MULTI and EXEC included.
        var commands: Int { 3 + tailCommands }
    }

    /// The last (queue, worker) popped one task at a time: a worker pops from one queue.
    private var inFlightPop: InFlightPop?

    /// Per node: an at-least-once pop whose outcome is not known yet (its reply was lost and
    /// the node could not be asked since). If it ran, its tasks wait in the worker's in-flight
    /// list, so the next pop asks first instead of acknowledging that list unseen.
    private(set) var unresolvedPops: [(queue: String, worker: String, id: String)?]

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
    /// and the next one is tried. Throws when every node failed.
    private func onNextNode<T>(_ body: (RedisConnection) throws(BrokerError) -> T) throws(BrokerError) -> T {
        try onNextNode { (_: Int, connection: RedisConnection) throws(BrokerError) -> T in try body(connection) }
    }

    /// ``onNextNode(_:)`` that also tells `body` the node's index.
    private func onNextNode<T>(_ body: (Int, RedisConnection) throws(BrokerError) -> T) throws(BrokerError) -> T {
        var lastError = BrokerError("no redis node is available")
        let now = unixTime()
        for attempt in 0..<connections.count {
            let index = nextIndex
            nextIndex = (nextIndex + 1) % connections.count
            // When every node is down, try them anyway rather than fail without trying.
            if connections.count > 1 && downUntil[index] > now && attempt < connections.count - 1
                && downUntil.contains(where: { $0 <= now }) { continue }
            do {
                let result = try body(index, connections[index])
                downUntil[index] = 0
                return result
            } catch {
                lastError = error
                markDown(index, error)
            }
        }
        throw lastError
    }

    /// Runs `body` on every live node; failures of some nodes (not all) are logged and skipped.
    private func onEveryNode(_ what: String, _ body: (RedisConnection) throws(BrokerError) -> Void) throws(BrokerError) {
        var failures: [BrokerError] = []
        let now = unixTime()
        for (index, connection) in connections.enumerated() {
            if connections.count > 1 && downUntil[index] > now { failures.append(BrokerError("node \(connection.node) is down")); continue }
            do { try body(connection) } catch {
                failures.append(error)
                markDown(index, error)
            }
        }
        if failures.count == connections.count { throw failures[0] }
        if !failures.isEmpty { logger.warning("\(what) skipped \(failures.count) unavailable node(s): \(failures[0].message)") }
    }

    private func markDown(_ index: Int, _ error: BrokerError) {
        guard connections.count > 1 else { return }
        downUntil[index] = unixTime() + Self.downTime
        logger.warning("redis node \(connections[index].node) skipped for \(Int(Self.downTime)) s: \(error.message)")
    }

    private func connection(for name: String) -> RedisConnection {
        let bytes = Array(name.utf8)
        let checksum = bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        return connections[Int(checksum % UInt(connections.count))]
    }

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
                    request.add(delayedKey(queue))
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
        if case .error(let message) = reply { throw BrokerError("push to \(queue) failed: \(message)") }
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
                let delayed = try connection.evaluate(Self.popScript, keys: [queue, delayedKey(queue)], arguments: [
                    Array(String(count - items.count).utf8), Array(String(unixTime()).utf8),
                ])
                try collect(delayed, into: &items, queue: queue)
            }
        }
        return items
    }

    public func pop(queue: String, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]] {
        if let items = try resolveUnknownPops(queue: queue, worker: worker) { return items }
        var items: [[UInt8]] = []
        // With one node the pop acknowledges the previous batch; with several, the rotation
        // may not visit the node that holds it, so acknowledge everywhere first.
        if connections.count > 1 { try acknowledge(queue: queue, worker: worker) }
        let single = inFlightPop(queue: queue, worker: worker, count: count)
        for _ in connections.indices where items.count < count {
            try onNextNode { node, connection throws(BrokerError) in
                // A MULTI/EXEC of plain commands, unless the recovered list may hold tasks or
                // the queue is empty (then the script serves recovered and due delayed tasks).
                if items.isEmpty, !single.recoveredWaiting[node] {
                    let popped = try popInFlight(single, node: node, on: connection)
                    if !popped.isEmpty {
                        items += popped
                        return
                    }
                }
                batch += 1
                let id = String(batch)
                // The connection resends the script after a connection error (it returns the
                // batch again if it had run), but once it gives up the outcome is unknown.
                unresolvedPops[node] = (queue, worker, id)
                let reply = try connection.evaluate(Self.popInFlightScript, keys: [
                    queue, delayedKey(queue), processingKey(queue, worker: worker), processingSetKey(queue),
                    batchKey(queue, worker: worker), recoveredKey(queue),
                ], arguments: [
                    Array(String(count - items.count).utf8), Array(String(unixTime()).utf8), Array(worker.utf8),
                    Array(id.utf8),
                ])
                unresolvedPops[node] = nil
                try collect(reply, into: &items, queue: queue)
                var left: Int64?
                if case .array(let elements) = reply, case .integer(let count) = elements.last { left = count }
                single.recoveredWaiting[node] = left.map { $0 > 0 } ?? true
            }
        }
        return items
    }

    /// Settles the pops of `worker` whose outcome is unknown (see ``unresolvedPops``): the
    /// tasks of one that ran, or nil. With one node an unreachable node is an error (nothing
    /// may be popped before it answers); with several, that node is asked again later.
    private func resolveUnknownPops(queue: String, worker: String) throws(BrokerError) -> [[UInt8]]? {
        for node in connections.indices {
            guard let pending = unresolvedPops[node], pending.queue == queue, pending.worker == worker else { continue }
            if connections.count > 1 && downUntil[node] > unixTime() { continue }
            do {
                let ran = try tasksOfBatch(pending.id, queue: queue, worker: worker, on: connections[node])
                unresolvedPops[node] = nil
                if let ran, !ran.isEmpty {
                    logger.warning("redis \(connections[node].node): a pop whose reply was lost had run; its \(ran.count) task(s) come now")
                    return ran
                }
            } catch {
                if connections.count == 1 { throw error }
                markDown(node, error)
            }
        }
        return nil
    }

    /// The tasks of pop `id` if it ran (its id is the worker's last batch id, and its tasks
    /// are the in-flight list), nil if it did not. A read-only check, resent as usual after a
    /// connection error.
    private func tasksOfBatch(_ id: String, queue: String, worker: String, on connection: RedisConnection,
                              until deadline: Double? = nil) throws(BrokerError) -> [[UInt8]]? {
        let check = try connection.pipeline([
            [Array("GET".utf8), Array(batchKey(queue, worker: worker).utf8)],
            [Array("LRANGE".utf8), Array(processingKey(queue, worker: worker).utf8), Array("0".utf8), Array("-1".utf8)],
        ], until: deadline)
        guard case .bytes(let current) = check[0], current.elementsEqual(id.utf8) else { return nil }
        var items: [[UInt8]] = []
        try collect(check[1], into: &items, queue: queue)
        return items
    }

    private func inFlightPop(queue: String, worker: String, count: Int) -> InFlightPop {
        if let pop = inFlightPop, pop.queue == queue, pop.worker == worker {
            if pop.count == count { return pop }
            // Another count (the last batch before max_tasks_per_run): same recovered state.
            let resized = InFlightPop(queue: queue, worker: worker, count: count, nodes: connections.count)
            resized.recoveredWaiting = pop.recoveredWaiting
            inFlightPop = resized
            return resized
        }
        let pop = InFlightPop(queue: queue, worker: worker, count: count, nodes: connections.count)
        inFlightPop = pop
        return pop
    }

    /// Pops tasks from the queue into the worker's in-flight list, acknowledging the previous
    /// batch, in one atomic MULTI/EXEC and one round trip:
    ///
    ///     MULTI; DEL processing; SET batch ID; LMOVE queue processing LEFT RIGHT;
    ///     SADD processing-set worker; LLEN recovered; EXEC
    ///
    /// and for a batch of N, instead of LMOVE: `SORT queue BY nosort LIMIT 0 N STORE
    /// processing; LTRIM queue N -1; LRANGE processing 0 -1`. Plain commands cost Redis a
    /// fraction of what the script does (one task: 3 µs instead of 11; 1,000: 0.26 ms instead
    /// of 0.47, INFO commandstats). The transaction is never resent blindly: if it ran and only
    /// its reply was lost, sending it again would delete the tasks it moved. After a lost reply the batch id tells whether it ran (then the task is
    /// the in-flight list) or not (then it is sent again). Empty when the queue was empty.
    private func popInFlight(_ single: InFlightPop, node: Int, on connection: RedisConnection) throws(BrokerError) -> [[UInt8]] {
        let deadline = unixTime() + connection.reconnectTimeout
        while true {
            batch += 1
            let id = String(batch)
            // Throws only when no connection could be made: then nothing was sent.
            let replies = try connection.pipelineOnce(until: deadline) { request in
                request.append(encoded: single.head, commands: 3)
                request.add(id)
                request.append(encoded: single.tail, commands: single.tailCommands)
            }
            if let replies {
                guard replies.count == single.commands, case .array(let results) = replies[single.commands - 1],
                      results.count == single.commands - 2 else {
                    let failure = replies.first { if case .error = $0 { true } else { false } } ?? replies.last
                    throw BrokerError("pop from \(single.queue) failed: \(failure.map { "\($0)" } ?? "no reply")")
                }
                var items: [[UInt8]] = []
                try collect(results[single.itemsResult], into: &items, queue: single.queue)
                single.recoveredWaiting[node] = (results[results.count - 1].integer ?? 1) > 0
                return items
            }
            // The reply was lost: did the transaction run? If the node cannot tell now, the
            // next pop asks it first.
            unresolvedPops[node] = (single.queue, single.worker, id)
            let ran = try tasksOfBatch(id, queue: single.queue, worker: single.worker, on: connection, until: deadline)
            unresolvedPops[node] = nil
            if let ran {
                single.recoveredWaiting[node] = true
                return ran
            }
            if unixTime() > deadline {
                throw BrokerError("pop from \(single.queue) on redis \(connection.node): replies keep getting lost;"
                    + " gave up after \(Int(connection.reconnectTimeout)) s")
            }
            logger.warning("redis \(connection.node): the pop did not run; sending it again")
        }
    }

    public func waitForItems(queue: String, timeout: Double, inFlightFor worker: String?) throws(BrokerError) -> [[UInt8]] {
        // Each node gets its share of the wait, so a task on any node is seen within `timeout`.
        let seconds = String(max(0.01, timeout / Double(connections.count)))
        return try onNextNode { connection throws(BrokerError) -> [[UInt8]] in
            var items: [[UInt8]] = []
            if let worker {
                // The in-flight list is empty here (the pop before this wait acknowledged it),
                // so after BLMOVE it holds exactly what this worker now owns: even an item a
                // resent BLMOVE moved before its reply was lost.
                let processing = processingKey(queue, worker: worker)
                let moved = try connection.command("BLMOVE", queue, processing, "LEFT", "RIGHT", seconds)
                if case .error(let message) = moved { throw BrokerError("waiting on \(queue) failed: \(message)") }
                guard moved != .null else { return [] }
                try collect(try connection.command("LRANGE", processing, "0", "-1"), into: &items, queue: queue)
            } else if case .array(let pair) = try connection.command("BLPOP", queue, seconds), pair.count == 2 {
                try collect(pair[1], into: &items, queue: queue)
            }
            return items
        }
    }

    public func acknowledge(queue: String, worker: String) throws(BrokerError) {
        try onEveryNode("acknowledging") { connection throws(BrokerError) in
            // A pop whose outcome is unknown may have moved tasks nobody has seen into the
            // list: they are left there for recovery, not acknowledged unseen.
            if let node = connections.firstIndex(where: { $0 === connection }),
               let pending = unresolvedPops[node], pending.queue == queue, pending.worker == worker {
                logger.warning("redis \(connection.node): a pop whose reply was lost may have run; its in-flight tasks are left for recovery")
                return
            }
            _ = try connection.command("DEL", processingKey(queue, worker: worker))
        }
    }

    public func forget(queue: String, worker: String, item: [UInt8]) throws(BrokerError) {
        try onEveryNode("forgetting a task") { connection throws(BrokerError) in
            _ = try connection.command([Array("LREM".utf8), Array(processingKey(queue, worker: worker).utf8), Array("1".utf8), item])
        }
    }

    public func heartbeat(queue: String, worker: String, ttl: Int) throws(BrokerError) {
        try onEveryNode("heartbeat") { connection throws(BrokerError) in
            _ = try connection.pipeline([
                ["SET", heartbeatKey(queue, worker: worker), "", "EX", String(ttl)].map { Array($0.utf8) },
                ["SADD", processingSetKey(queue), worker].map { Array($0.utf8) },
            ])
        }
    }

    /// Takes over the in-flight list of one worker, atomically: only when its heartbeat is
    /// gone (unless the caller knows it is dead, ARGV[2] == "dead": its supervisor reaped it),
    /// and appended to the claimant's list (never overwriting it), so that the claimant holds
    /// the tasks in flight until they are safely pushed back; a claimant that dies before
    /// that leaves them for its own replacement. Returns the items taken.
    /// KEYS: its processing list, its heartbeat, the processing set, its batch id, the
    /// claimant's processing list. ARGV: its worker id, "dead" or "expired".
    static let reclaimScript = LuaScript("""
        if ARGV[2] ~= 'dead' and redis.call('EXISTS', KEYS[2]) == 1 then
            return false
        end
        local items = redis.call('LRANGE', KEYS[1], 0, -1)
        for first = 1, #items, 1000 do
            redis.call('RPUSH', KEYS[5], unpack(items, first, math.min(first + 999, #items)))
        end
        redis.call('DEL', KEYS[1], KEYS[4])
        redis.call('SREM', KEYS[3], ARGV[1])
        return items
        """)

    public func reclaim(queue: String, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]] {
        var items: [[UInt8]] = []
        let mine = processingKey(queue, worker: claimant)
        try onEveryNode("reclaiming in-flight tasks") { connection throws(BrokerError) in
            var candidates = worker.map { [($0, "dead")] } ?? []
            if alsoExpired, case .array(let members) = try connection.command("SMEMBERS", processingSetKey(queue)) {
                for case .bytes(let member) in members {
                    let id = String(decoding: member, as: UTF8.self)
                    guard id != claimant, id != worker else { continue }
                    candidates.append((id, "expired"))
                }
            }
            for (id, state) in candidates {
                // A live worker's heartbeat is checked in the same step that takes its list,
                // so a worker whose heartbeat is there is never robbed.
                let reply = try connection.evaluate(Self.reclaimScript, keys: [
                    processingKey(queue, worker: id), heartbeatKey(queue, worker: id), processingSetKey(queue),
                    batchKey(queue, worker: id), mine,
                ], arguments: [Array(id.utf8), Array(state.utf8)])
                if case .error(let message) = reply { throw BrokerError("reclaiming the tasks of \(id) failed: \(message)") }
                try collect(reply, into: &items, queue: queue)
            }
        }
        // The caller pushes them to the recovered list: pops go through the script again.
        if !items.isEmpty, let single = inFlightPop, single.queue == queue {
            single.recoveredWaiting = Array(repeating: true, count: connections.count)
        }
        return items
    }

    public func countDeath(queue: String, item: [UInt8]) throws(BrokerError) -> Int {
        let digest = Array(String(crc32Digest(item), radix: 16).utf8) + Array(String(item.count).utf8)
        let reply = try connection(for: deathsKey(queue)).command([Array("HINCRBY".utf8), Array(deathsKey(queue).utf8), digest, Array("1".utf8)])
        return Int(reply.integer ?? 0)
    }

    private func crc32Digest(_ bytes: [UInt8]) -> UInt {
        bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
    }

    private func collect(_ reply: RedisReply, into items: inout [[UInt8]], queue: String) throws(BrokerError) {
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
            ? [Array("ZCARD".utf8), Array(delayedKey(queue).utf8)]
            : [Array("ZCOUNT".utf8), Array(delayedKey(queue).utf8), Array("0".utf8), Array(String(unixTime()).utf8)]
        try onEveryNode("counting \(queue)") { connection throws(BrokerError) in
            for reply in try connection.pipeline([[Array("LLEN".utf8), Array(queue.utf8)], delayed,
                                                  [Array("LLEN".utf8), Array(recoveredKey(queue).utf8)]]) {
                total += Int(reply.integer ?? 0)
            }
        }
        return total
    }

    public func delete(queue: String) throws(BrokerError) -> Bool {
        var deleted: Int64 = 0
        try onEveryNode("purging \(queue)") { connection throws(BrokerError) in
            deleted += try connection.command("DEL", queue, delayedKey(queue), recoveredKey(queue)).integer ?? 0
        }
        return deleted > 0
    }

    // MARK: Keys

    public func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool {
        try connection(for: key).command([Array("GETSET".utf8), Array(key.utf8), value]) == .null
    }

    public func keyGet(_ key: String) throws(BrokerError) -> [UInt8]? {
        if case .bytes(let value) = try connection(for: key).command("GET", key) { return value }
        return nil
    }

    public func keyDelete(_ key: String) throws(BrokerError) -> Bool {
        try (connection(for: key).command("DEL", key).integer ?? 0) > 0
    }

    // MARK: Locks

    public func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        let reply = try connection(for: name).command([
            Array("SET".utf8), Array(lockKey(name).utf8), [], Array("NX".utf8), Array("EX".utf8), Array(String(ttl).utf8),
        ])
        return reply == .status("OK")
    }

    public func lockRelease(_ name: String) throws(BrokerError) -> Bool {
        try (connection(for: name).command("DEL", lockKey(name)).integer ?? 0) == 1
    }

    public func lockIsLocked(_ name: String) throws(BrokerError) -> Bool {
        try (connection(for: name).command("EXISTS", lockKey(name)).integer ?? 0) == 1
    }

    public func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        try (connection(for: name).command("EXPIRE", lockKey(name), String(ttl)).integer ?? 0) == 1
    }

    public func lockGetTTL(_ name: String) throws(BrokerError) -> Int? {
        let ttl = try connection(for: name).command("TTL", lockKey(name)).integer ?? -2
        return ttl >= 0 ? Int(ttl) : nil
    }
}
