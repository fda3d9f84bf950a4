import SergeantCore

// MARK: - Tasks acknowledged one by one

extension Broker {
    /// True when tasks pulled for a worker can be acknowledged one by one while it pulls more
    /// (the connector has ``IncrementalInFlightRecords``); always true without in-flight
    /// records, where there is nothing to acknowledge.
    public var acknowledgesEachTask: Bool {
        inFlight == nil || inFlight is any IncrementalInFlightRecords
    }

    /// Pops up to `count` tasks and adds them to what `worker` has in flight, keeping the rest
    /// of its record (the async executor's refill). Without in-flight records this is a plain
    /// pop; on a connector that cannot add to a record it is ``pop(queue:count:inFlightFor:)``,
    /// which acknowledges the record first: call it only when nothing is in flight then.
    /// Undecodable items are set aside (reported in `rejected`) and leave the record at once.
    /// `alone`: the worker runs nothing now, so a task recovered from a dead worker may come
    /// (then alone: ``AddedItems/recovered``); a busy worker gets nothing while such tasks
    /// wait (``AddedItems/recoveredWaiting``).
    public func popAdding(queue: String, count: Int, inFlightFor worker: String?, alone: Bool)
        throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String], recovered: Bool, recoveredWaiting: Bool)
    {
        let keys = keys(queue)
        let added = try withConnector { connector throws(BrokerError) -> AddedItems in
            guard let worker, let inFlight else { return AddedItems(items: try connector.pop(queue: keys.queue, count: count)) }
            try register(worker, keys, on: inFlight)
            guard let incremental = inFlight as? any IncrementalInFlightRecords else {
                return AddedItems(items: try inFlight.pop(keys, count: count, inFlightFor: worker))
            }
            return try incremental.popAdding(keys, count: count, inFlightFor: worker, alone: alone)
        }
        let items = added.items
        let decoded = try decode(items, queue: queue)
        let popped = (tasks: decoded.tasks, rejected: decoded.rejected, recovered: added.recovered,
                      recoveredWaiting: added.recoveredWaiting)
        if let worker, !popped.rejected.isEmpty {
            // Set aside in NAME.dead already: they are no longer this worker's.
            let kept = Set(popped.tasks.map(\.stored))
            try forget(stored: items.filter { !kept.contains($0) }, queue: queue, worker: worker)
        }
        return popped
    }

    /// Tasks of `worker`'s are done: forget them, in one round trip where the connector can
    /// (``IncrementalInFlightRecords``), one by one otherwise.
    public func forget(stored items: [[UInt8]], queue: String, worker: String) throws(BrokerError) {
        guard !items.isEmpty else { return }
        try withConnector { _ throws(BrokerError) in
            guard let inFlight else { return }
            if let incremental = inFlight as? any IncrementalInFlightRecords {
                try incremental.forget(keys(queue), worker: worker, items: items)
            } else {
                for item in items { try inFlight.forget(keys(queue), worker: worker, item: item) }
            }
        }
    }
}
