import SergeantCore

// MARK: - Tasks acknowledged one by one

/// The async executor's records on the SQLite file: a pop that adds to the worker's in-flight
/// rows instead of acknowledging them, and the acknowledgement of single tasks, each one
/// transaction, with the Redis connector's semantics (`RedisScripts.popAddingInFlightScript`).
extension LocalConnector: IncrementalInFlightRecords {
    public func popAdding(_ keys: KeySpace, count: Int, inFlightFor worker: String, alone: Bool) throws(BrokerError) -> AddedItems {
        guard count > 0 else { return AddedItems(items: []) }
        let database = database
        let queue = keys.queue
        // As the plain pop: a look without the write lock first (idle workers poll).
        let anything = try read("pop from \(queue)") { () throws(LocalFailure) -> Bool in
            var found = false
            try database.run("""
                SELECT EXISTS (SELECT 1 FROM sergeant_queue WHERE queue = ?1 OR queue = ?3)
                    OR EXISTS (SELECT 1 FROM sergeant_delayed WHERE queue = ?1 AND consumable_from <= ?2)
                """, [.text(queue), .double(unixTime()), .text(keys.recovered)]) { found = $0.int(0) != 0 }
            return found
        }
        guard anything else { return AddedItems(items: []) }
        return try write("pop from \(queue)") { () throws(LocalFailure) -> AddedItems in
            var waiting = 0
            try database.run("SELECT count(*) FROM sergeant_queue WHERE queue = ?1", [.text(keys.recovered)]) { waiting = Int($0.int(0)) }
            // A recovered task only for a worker that runs nothing, and then alone; a busy
            // worker gets nothing while such tasks wait.
            if waiting > 0 && !alone { return AddedItems(items: [], recoveredWaiting: true) }
            let items = waiting > 0 ? try Self.take(1, from: keys.recovered, in: database) : try Self.take(count, from: queue, in: database)
            for item in items {
                try database.run("INSERT INTO sergeant_in_flight (queue, worker, item) VALUES (?1, ?2, ?3)",
                                 [.text(queue), .text(worker), .blob(item)])
            }
            return AddedItems(items: items, recovered: waiting > 0 && !items.isEmpty)
        }
    }

    /// Deletes one in-flight row of `worker` per item (the oldest holding it), in one transaction.
    public func forget(_ keys: KeySpace, worker: String, items: [[UInt8]]) throws(BrokerError) {
        guard !items.isEmpty else { return }
        let database = database
        try write("acknowledge \(items.count) task(s) of \(worker) on \(keys.queue)") { () throws(LocalFailure) in
            for item in items {
                try database.run("""
                    DELETE FROM sergeant_in_flight WHERE id = (
                        SELECT id FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2 AND item = ?3 ORDER BY id LIMIT 1)
                    """, [.text(keys.queue), .text(worker), .blob(item)])
            }
        }
    }
}
