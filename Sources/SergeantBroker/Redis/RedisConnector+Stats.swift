import SergeantCore

// MARK: - Fleet records

/// Counters, worker records and the snapshot read, on Redis:
///
///     NAME.stats                 hash of counters since they began (HINCRBY)
///     NAME.stats.BUCKET          the same per 10 s bucket, expiring after an hour (the chart)
///     NAME.workers               set of the workers that published a record
///     NAME.worker.WORKER         a worker's record (msgpack), expiring with its heartbeat
///     __sergeant__.queues        set of the queues with published workers
///
/// Counter updates ride ahead of a later round trip (``RedisConnection/piggyback(_:)``),
/// coalesced: the first counts go out with the next round trip, later ones are added up in
/// memory and written at most once per ``countsInterval`` (and before a blocking wait, when
/// the rate bucket changes, and by ``flushStaged()``). A worker running 10,000 tasks a second
/// sends about 10 HINCRBYs a second instead of 100,000; `sergeant stats` lags by at most that
/// interval plus the task that is running.
extension RedisConnector: FleetRecords {
    /// Seconds counts are added up in memory before they go out (the first ones go at once).
    static let countsInterval = 1.0

    public func stage(_ counts: OutcomeCounts, _ keys: KeySpace, at time: Double) {
        guard !counts.isZero else { return }
        let bucket = RateBuckets.index(of: time)
        if let index = pendingCounts.firstIndex(where: { $0.bucket == bucket && $0.keys == keys }) {
            pendingCounts[index].counts += counts
        } else {
            // A new bucket (or queue): what the old one holds is complete, out it goes.
            if pendingCounts.contains(where: { $0.bucket != bucket }) { encodePendingCounts(at: time) }
            pendingCounts.append((keys, bucket, counts))
        }
        if time - countsEncodedAt >= Self.countsInterval { encodePendingCounts(at: time) }
    }

    /// Turns the counts added up so far into the commands that go out ahead of the next round
    /// trip (``stagedStats``), with the connections' reconnects since the last counts.
    func encodePendingCounts(at time: Double = unixTime()) {
        countsEncodedAt = time
        guard !pendingCounts.isEmpty else { return }
        let reconnects = connections.reduce(0) { $0 + $1.reconnects }
        pendingCounts[0].counts.brokerReconnects += reconnects - countedReconnects
        countedReconnects = reconnects
        for (keys, index, counts) in pendingCounts { stagedStats += Self.commands(adding: counts, keys, bucket: index) }
        pendingCounts.removeAll()
    }

    /// HINCRBYs of `counts` into the queue's totals and into rate bucket `index`, and the
    /// bucket's expiry.
    static func commands(adding counts: OutcomeCounts, _ keys: KeySpace, bucket index: Int) -> [[[UInt8]]] {
        var commands: [[[UInt8]]] = []
        let total = Array(keys.stats.utf8)
        let bucket = Array(keys.stats(bucket: index).utf8)
        let hincrby = Array("HINCRBY".utf8)
        for field in OutcomeCounts.fields {
            let value = counts[keyPath: field.path]
            guard value != 0 else { continue }
            let name = Array(field.name.utf8)
            let amount = Array(String(value).utf8)
            commands.append([hincrby, total, name, amount])
            commands.append([hincrby, bucket, name, amount])
        }
        for (index, runs) in counts.durationBuckets.enumerated() where runs != 0 {
            commands.append([hincrby, total, Array("duration_bucket_\(index)".utf8), Array(String(runs).utf8)])
        }
        if counts.durationSeconds != 0 {
            commands.append([Array("HINCRBYFLOAT".utf8), total, Array("duration_seconds".utf8), Array(String(counts.durationSeconds).utf8)])
        }
        commands.append([Array("EXPIRE".utf8), bucket, Array(String(RateBuckets.ttl).utf8)])
        return commands
    }

    public func flushStaged() throws(BrokerError) {
        encodePendingCounts()
        guard !stagedStats.isEmpty else { return }
        try onNextNode { connection throws(BrokerError) in _ = try connection.command("PING") }
    }

    public func throughput(_ keys: KeySpace, buckets: ClosedRange<Int>) throws(BrokerError) -> [OutcomeCounts] {
        var counts = Array(repeating: OutcomeCounts(), count: buckets.count)
        try onEveryNode("reading the throughput of \(keys.name)") { connection throws(BrokerError) in
            let replies = try connection.pipeline(buckets.map { ["HGETALL", keys.stats(bucket: $0)].map { Array($0.utf8) } })
            for (index, reply) in replies.enumerated() where index < counts.count { counts[index] = counts[index] + Self.counts(reply) }
        }
        return counts
    }

    public func publish(_ record: WorkerRecord, _ keys: KeySpace, ttl: Int) throws(BrokerError) {
        let bytes = record.encoded()
        // On one node only (the worker's key's), so that a reader finds each record once.
        _ = try connection(for: keys.worker(record.worker)).pipeline([
            [Array("SET".utf8), Array(keys.worker(record.worker).utf8), bytes, Array("EX".utf8), Array(String(ttl).utf8)],
            ["SADD", keys.workers, record.worker].map { Array($0.utf8) },
            ["SADD", KeySpace.fleetQueues, keys.name].map { Array($0.utf8) },
        ])
    }

    public func forget(worker: String, _ keys: KeySpace) throws(BrokerError) {
        _ = try connection(for: keys.worker(worker)).pipeline([
            ["DEL", keys.worker(worker)].map { Array($0.utf8) },
            ["SREM", keys.workers, worker].map { Array($0.utf8) },
        ])
    }

    public func fleetQueues() throws(BrokerError) -> [String] {
        var names = Set<String>()
        try onEveryNode("listing queues") { connection throws(BrokerError) in
            names.formUnion(Self.strings(try connection.command("SMEMBERS", KeySpace.fleetQueues)))
        }
        return names.sorted()
    }

    public func queueStats(_ keys: KeySpace, now: Double, heartbeatInterval: Double) throws(BrokerError) -> QueueStats {
        var stats = QueueStats(name: keys.name, waiting: 0)
        var delayedDue = 0, delayedLater = 0, timedOut = 0, dead = 0
        var totals = OutcomeCounts(), minute = OutcomeCounts()
        var workers = Set<String>()
        let (buckets, window) = RateBuckets.lastMinute(at: now)
        let nowText = String(now)
        try onEveryNode("reading the stats of \(keys.name)") { connection throws(BrokerError) in
            var commands: [[String]] = [
                ["LLEN", keys.queue], ["LLEN", keys.recovered],
                ["ZCOUNT", keys.delayed, "-inf", nowText], ["ZCOUNT", keys.delayed, "(" + nowText, "+inf"],
                ["LLEN", keys.timedOut], ["LLEN", keys.dead],
                ["SMEMBERS", keys.processingSet], ["SMEMBERS", keys.workers], ["HGETALL", keys.stats],
            ]
            commands += buckets.map { ["HGETALL", keys.stats(bucket: $0)] }
            let replies = try connection.pipeline(commands.map { $0.map { Array($0.utf8) } })
            stats.waiting += Int(replies[0].integer ?? 0) + Int(replies[1].integer ?? 0)
            delayedDue += Int(replies[2].integer ?? 0)
            delayedLater += Int(replies[3].integer ?? 0)
            timedOut += Int(replies[4].integer ?? 0)
            dead += Int(replies[5].integer ?? 0)
            workers.formUnion(Self.strings(replies[6]))
            workers.formUnion(Self.strings(replies[7]))
            totals = totals + Self.counts(replies[8])
            for reply in replies[9...] { minute = minute + Self.counts(reply) }
        }
        stats.delayedDue = delayedDue
        stats.delayedLater = delayedLater
        stats.timedOut = timedOut
        stats.dead = dead
        stats.totals = totals
        stats.lastMinute = minute
        stats.rateWindow = window
        // Per worker: its record (one node holds it) and what it has in flight (every node).
        let names = workers.sorted()
        var records: [String: WorkerRecord] = [:]
        var inFlight: [String: Int] = [:]
        for name in names {
            if case .bytes(let bytes) = try connection(for: keys.worker(name)).command("GET", keys.worker(name)),
               let record = WorkerRecord(encoded: bytes) {
                records[name] = record
            }
        }
        try onEveryNode("reading in-flight tasks of \(keys.name)") { connection throws(BrokerError) in
            guard !names.isEmpty else { return }
            let replies = try connection.pipeline(names.flatMap { name in
                [["LLEN", keys.processing(name)].map { Array($0.utf8) }, ["LLEN", keys.reclaimed(name)].map { Array($0.utf8) }]
            })
            for (index, name) in names.enumerated() {
                inFlight[name, default: 0] += Int(replies[2 * index].integer ?? 0) + Int(replies[2 * index + 1].integer ?? 0)
            }
        }
        stats.inFlight = names.compactMap { name in
            guard let count = inFlight[name], count > 0 else { return nil }
            return QueueStats.InFlight(worker: name, count: count, oldestAge: records[name]?.running.map { now - $0.since })
        }
        // A worker with neither a record nor tasks is gone for good: forgotten, so that the
        // set stays as large as the live fleet.
        let gone = names.filter { records[$0] == nil && (inFlight[$0] ?? 0) == 0 }
        if !gone.isEmpty {
            // Best effort: a read-only ACL user (README's dashboard rule) may not write.
            try? onEveryNode("forgetting gone workers of \(keys.name)") { connection throws(BrokerError) in
                _ = try connection.command([Array("SREM".utf8), Array(keys.workers.utf8)] + gone.map { Array($0.utf8) })
            }
        }
        // Workers with a record, and those that still hold tasks without one (dead).
        stats.workers = names.compactMap { name in
            guard records[name] != nil || (inFlight[name] ?? 0) > 0 else { return nil }
            return WorkerStatus(worker: name, record: records[name], now: now, heartbeatInterval: heartbeatInterval)
        }
        return stats
    }

    /// The strings of an array reply.
    static func strings(_ reply: RedisReply) -> [String] {
        guard case .array(let items) = reply else { return [] }
        return items.compactMap { if case .bytes(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
    }

    /// The counters of an HGETALL reply.
    static func counts(_ reply: RedisReply) -> OutcomeCounts {
        var counts = OutcomeCounts()
        let items = strings(reply)
        for pair in stride(from: 0, to: items.count - 1, by: 2) {
            let field = items[pair], text = items[pair + 1]
            if field == "duration_seconds" {
                counts.durationSeconds += Double(text) ?? 0
            } else if field.hasPrefix("duration_bucket_"), let index = Int(field.dropFirst("duration_bucket_".count)),
                      index >= 0, index <= OutcomeCounts.durationBounds.count, let value = Int(text) {
                if counts.durationBuckets.isEmpty {
                    counts.durationBuckets = Array(repeating: 0, count: OutcomeCounts.durationBounds.count + 1)
                }
                counts.durationBuckets[index] += value
            } else if let value = Int(text) {
                counts[field: field] = (counts[field: field] ?? 0) + value
            }
        }
        return counts
    }
}
