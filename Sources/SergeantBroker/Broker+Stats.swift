import SergeantCore

// MARK: - Fleet state

extension Broker {
    /// Adds `counts` to the queue's counters without a round trip of its own: they go out
    /// ahead of this broker's next round trip (the pop that acknowledges the batch they
    /// count), into the rate bucket of unix time `time`. Does nothing on a connector without
    /// ``ThroughputRecords``.
    public func record(_ counts: OutcomeCounts, queue: String, at time: Double = unixTime()) {
        guard !counts.isZero else { return }
        lock.withLock { counters?.stage(counts, keys(queue), at: time) }
    }

    /// Sends counts that ``record(_:queue:)`` staged and no round trip has carried yet: at the
    /// end of a worker's run.
    public func flushCounts() throws(BrokerError) {
        try withConnector { _ throws(BrokerError) in try counters?.flushStaged() }
    }

    /// The throughput history of `queues` (summed) from the broker: the `buckets` complete
    /// rate buckets before the one of unix time `now`, oldest first. Empty on a connector
    /// without ``ThroughputRecords``. Two dashboards on one broker read the same samples.
    public func throughput(queues: [String], at now: Double = unixTime(),
                           buckets: Int = RateBuckets.history) throws(BrokerError) -> [ThroughputSample] {
        let last = RateBuckets.index(of: now) - 1
        let range = (last - max(buckets, 1) + 1)...last
        var samples = range.map { ThroughputSample(time: Double($0) * RateBuckets.width, processed: 0, failed: 0) }
        for name in queues {
            let counts = try withConnector { _ throws(BrokerError) -> [OutcomeCounts] in
                try counters?.throughput(keys(name), buckets: range) ?? []
            }
            for (index, bucket) in counts.enumerated() where index < samples.count {
                samples[index].processed += bucket.processed
                samples[index].failed += bucket.failed
            }
        }
        return counters == nil ? [] : samples
    }

    /// Publishes a worker's record for ``heartbeatTTL`` seconds (its heartbeat renews it).
    public func publish(_ record: WorkerRecord) throws(BrokerError) {
        try withConnector { _ throws(BrokerError) in try fleet?.publish(record, keys(record.queue), ttl: Self.heartbeatTTL) }
    }

    /// The queues that live workers have published records for.
    public func fleetQueues() throws(BrokerError) -> [String] {
        try withConnector { _ throws(BrokerError) in try fleet?.fleetQueues() ?? [] }
    }

    /// The state of `queues` plus every queue live workers publish (``fleetQueues()``), read
    /// from the broker alone. On a connector without ``FleetRecords`` only the depth is known.
    public func snapshot(queues named: [String] = [], connectorType: String = "") throws(BrokerError) -> FleetSnapshot {
        let now = unixTime()
        var names = named
        for name in try fleetQueues() where !names.contains(name) { names.append(name) }
        var queues: [QueueStats] = []
        for name in names {
            let stats = try withConnector { connector throws(BrokerError) -> QueueStats in
                if let fleet { return try fleet.queueStats(keys(name), now: now, heartbeatInterval: Self.heartbeatInterval) }
                let queued = try connector.length(queue: keys(name).queue, includeDelayed: false)
                var stats = QueueStats(name: name, waiting: queued)
                stats.delayedLater = try connector.length(queue: keys(name).queue, includeDelayed: true) - queued
                stats.dead = try connector.length(queue: keys(name).dead, includeDelayed: false)
                return stats
            }
            queues.append(stats)
        }
        return FleetSnapshot(takenAt: now, connector: connectorType, queues: queues)
    }
}
