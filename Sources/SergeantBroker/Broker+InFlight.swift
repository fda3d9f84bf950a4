import SergeantCore

// MARK: - At-least-once delivery

extension Broker {
    /// Seconds a heartbeat keeps a worker alive; its worker renews it every
    /// ``heartbeatInterval`` seconds, so two renewals can fail before it looks dead.
    public static let heartbeatTTL = 15
    /// Seconds between two heartbeats of a worker.
    public static let heartbeatInterval = 5.0

    /// Writes the first heartbeat of `worker` on `keys`, once, before anything is recorded in
    /// flight for it (the caller holds the lock).
    func register(_ worker: String, _ keys: KeySpace, on records: any InFlightRecords) throws(BrokerError) {
        // A worker pops from one queue under one name: comparing with the last registration
        // costs no hashing on the hot path.
        if let last = lastRegistered, last.worker == worker, last.queue == keys.queue { return }
        let key = keys.queue + "\u{0}" + worker
        if !registered.contains(key) {
            try records.heartbeat(keys, worker: worker, ttl: Self.heartbeatTTL)
            registered.insert(key)
        }
        lastRegistered = (keys.queue, worker)
    }

    /// Marks `worker` alive for ``heartbeatTTL`` seconds.
    public func heartbeat(queue: String, worker: String) throws(BrokerError) {
        try withConnector { _ throws(BrokerError) in
            try inFlight?.heartbeat(keys(queue), worker: worker, ttl: Self.heartbeatTTL)
        }
    }

    /// The tasks `worker` pulled are done: forget them.
    public func acknowledge(queue: String, worker: String) throws(BrokerError) {
        try withConnector { _ throws(BrokerError) in try inFlight?.acknowledge(keys(queue), worker: worker) }
    }

    /// A task of `worker`'s that its watchdog ends: forget that one only.
    public func forget(stored item: [UInt8], queue: String, worker: String) throws(BrokerError) {
        try withConnector { _ throws(BrokerError) in try inFlight?.forget(keys(queue), worker: worker, item: item) }
    }

    /// Returns the in-flight tasks of a dead worker (and of every worker whose heartbeat
    /// expired) to be worked first (`NAME.recovered`); a task that was in flight at
    /// `maxDeaths` deaths goes to `NAME.dead` instead. Returns (requeued, set aside).
    @discardableResult
    public func recover(queue: String, deadWorker: String?, claimant: String, maxDeaths: Int) throws(BrokerError) -> (requeued: Int, deadLettered: Int) {
        let keys = keys(queue)
        return try withConnector { connector throws(BrokerError) in
            guard let inFlight else { return (0, 0) }
            // The claimant holds what it takes in its own record until it is pushed back.
            try register(claimant, keys, on: inFlight)
            let items = try inFlight.reclaim(keys, worker: deadWorker, alsoExpired: true, by: claimant)
            if let deadWorker { try fleet?.forget(worker: deadWorker, keys) }
            guard !items.isEmpty else { return (0, 0) }
            var back: [[UInt8]] = []
            var dead: [[UInt8]] = []
            for item in items {
                let deaths = try inFlight.countDeath(keys, item: item)
                if maxDeaths > 0 && deaths >= maxDeaths {
                    dead.append(DeadLetter(task: item, reason: "the task was in flight when its worker died \(deaths) times (poison task)").encoded)
                } else {
                    back.append(item)
                }
            }
            // Counted with the pushes below, in their round trip.
            var counts = OutcomeCounts()
            counts.recovered = back.count
            counts.deadLettered = dead.count
            fleet?.stage(counts, keys, at: unixTime())
            // Recovered tasks are pulled one at a time before the queue (see
            // RedisScripts.popInFlight), so a poison task is soon alone in flight and only its
            // own deaths count.
            try connector.push(queue: keys.recovered, items: back, priority: .normal, consumableFrom: nil)
            try connector.push(queue: keys.dead, items: dead, priority: .normal, consumableFrom: nil)
            // Until here the claimant's reclaimed list held them.
            try inFlight.releaseReclaimed(keys, by: claimant)
            return (back.count, dead.count)
        }
    }

    // MARK: Hard timeouts

    /// Leaves tasks whose worker ends itself over a hard timeout in `NAME.timedout`, for the
    /// next worker's on_timeout.
    public func setTimedOut(_ items: [[UInt8]], queue: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in
            try connector.push(queue: keys(queue).timedOut, items: items, priority: .normal, consumableFrom: nil)
        }
    }

    /// Takes up to `count` tasks left in `NAME.timedout` by workers ended over a hard timeout.
    public func takeTimedOut(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        try withConnector { connector throws(BrokerError) in try connector.pop(queue: keys(queue).timedOut, count: count) }
    }
}
