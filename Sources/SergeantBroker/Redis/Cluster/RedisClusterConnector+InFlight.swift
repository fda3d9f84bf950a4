import SergeantCore

// MARK: - In-flight records on a cluster

/// At-least-once delivery over the shards of a queue: each shard's connector records,
/// acknowledges and reclaims within its own slot, exactly as on one Redis (one shard is one
/// Redis's behaviour, step for step). With several shards a pop acknowledges the previous
/// batch on every shard first (the rotation may not come back to the shard that served it),
/// heartbeats go to every shard (recovery checks a worker's heartbeat beside its in-flight
/// list), deaths are counted on the first shard, and one pop takes one shard's tasks (the
/// first shard of the rotation that has any), so a recovered task is alone in flight.
extension RedisClusterConnector: InFlightRecords, IncrementalInFlightRecords, BlockingWait {
    public func pop(_ keys: KeySpace, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]] {
        let shards = shards(of: keys.queue)
        if shardCount == 1 { return try shards.connectors[0].pop(shards.keys(shard: 0), count: count, inFlightFor: worker) }
        try acknowledge(keys, worker: worker)
        // One shard's tasks per pop: a recovered task comes alone from its shard, and stays
        // alone in flight (no other shard's tasks beside it).
        for shard in rotation() {
            let items = try shards.connectors[shard].pop(shards.keys(shard: shard), count: count, inFlightFor: worker)
            if !items.isEmpty { return items }
        }
        return []
    }

    public func acknowledge(_ keys: KeySpace, worker: String) throws(BrokerError) {
        let shards = shards(of: keys.queue)
        for shard in 0..<shardCount { try shards.connectors[shard].acknowledge(shards.keys(shard: shard), worker: worker) }
    }

    public func forget(_ keys: KeySpace, worker: String, item: [UInt8]) throws(BrokerError) {
        let shards = shards(of: keys.queue)
        for shard in 0..<shardCount { try shards.connectors[shard].forget(shards.keys(shard: shard), worker: worker, item: item) }
    }

    public func heartbeat(_ keys: KeySpace, worker: String, ttl: Int) throws(BrokerError) {
        let shards = shards(of: keys.queue)
        for shard in 0..<shardCount { try shards.connectors[shard].heartbeat(shards.keys(shard: shard), worker: worker, ttl: ttl) }
    }

    public func reclaim(_ keys: KeySpace, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]] {
        let shards = shards(of: keys.queue)
        var items: [[UInt8]] = []
        for shard in 0..<shardCount {
            items += try shards.connectors[shard].reclaim(shards.keys(shard: shard), worker: worker, alsoExpired: alsoExpired, by: claimant)
        }
        // They go back to one shard's recovered list: every shard's next pop looks there.
        if !items.isEmpty {
            for connector in shards.connectors { connector.inFlightPop?.recoveredWaiting = [true] }
        }
        return items
    }

    public func releaseReclaimed(_ keys: KeySpace, by claimant: String) throws(BrokerError) {
        let shards = shards(of: keys.queue)
        for shard in 0..<shardCount { try shards.connectors[shard].releaseReclaimed(shards.keys(shard: shard), by: claimant) }
    }

    public func countDeath(_ keys: KeySpace, item: [UInt8]) throws(BrokerError) -> Int {
        let shards = shards(of: keys.queue)
        return try shards.connectors[0].countDeath(shards.keys(shard: 0), item: item)
    }

    // MARK: Tasks acknowledged one by one

    public func popAdding(_ keys: KeySpace, count: Int, inFlightFor worker: String, alone: Bool) throws(BrokerError) -> AddedItems {
        let shards = shards(of: keys.queue)
        // One shard's tasks per pop, as ``pop(_:count:inFlightFor:)``; a shard where recovered
        // tasks wait for an idle worker ends the visit (the worker finishes what it runs first).
        for shard in rotation() {
            let added = try shards.connectors[shard].popAdding(shards.keys(shard: shard), count: count, inFlightFor: worker, alone: alone)
            if !added.items.isEmpty || added.recoveredWaiting { return added }
        }
        return AddedItems(items: [])
    }

    public func forget(_ keys: KeySpace, worker: String, items: [[UInt8]]) throws(BrokerError) {
        let shards = shards(of: keys.queue)
        for shard in 0..<shardCount { try shards.connectors[shard].forget(shards.keys(shard: shard), worker: worker, items: items) }
    }

    // MARK: Blocking wait

    public func waitForItems(_ keys: KeySpace, timeout: Double, inFlightFor worker: String?) throws(BrokerError) -> [[UInt8]] {
        let shards = shards(of: keys.queue)
        // Each shard gets its share of the wait, so a task on any shard is seen within `timeout`.
        let shard = rotation()[0]
        return try shards.connectors[shard].waitForItems(shards.keys(shard: shard), timeout: timeout / Double(shardCount),
                                                         inFlightFor: worker)
    }
}
