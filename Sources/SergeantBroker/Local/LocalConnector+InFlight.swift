import CCompression
import SergeantCore

// MARK: - In-flight records

/// At-least-once delivery on the SQLite file, with the Redis connector's semantics
/// (`RedisConnector+InFlight.swift`, `+Recovery.swift`): one row per task in flight, with its
/// worker, written in the same transaction as the pop that hands it out; heartbeats as rows
/// with an expiry; what a claimant takes over from dead workers held in its own reclaimed
/// rows until it is pushed back; death counts per task.
///
/// Every step is one `BEGIN IMMEDIATE` transaction, so a process killed at any moment leaves
/// each task in exactly one place: queued, in flight for a worker, or reclaimed by a claimant.
/// Unlike Redis, a commit cannot lose its reply: nothing here needs the batch ids that make a
/// resent Redis pop safe.
extension LocalConnector: InFlightRecords {
    /// The tables of the at-least-once records.
    static let inFlightTables = ["sergeant_in_flight", "sergeant_reclaimed", "sergeant_heartbeats", "sergeant_deaths"]

    /// The at-least-once tables and indexes, created when missing.
    static let inFlightSchema = """
        CREATE TABLE IF NOT EXISTS sergeant_in_flight (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            worker TEXT NOT NULL,
            item BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sergeant_in_flight_worker ON sergeant_in_flight (queue, worker);
        CREATE TABLE IF NOT EXISTS sergeant_reclaimed (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            claimant TEXT NOT NULL,
            item BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sergeant_reclaimed_claimant ON sergeant_reclaimed (queue, claimant);
        CREATE TABLE IF NOT EXISTS sergeant_heartbeats (
            queue TEXT NOT NULL,
            worker TEXT NOT NULL,
            expires_at REAL NOT NULL,
            PRIMARY KEY (queue, worker)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS sergeant_deaths (
            queue TEXT NOT NULL,
            digest TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (queue, digest)
        ) WITHOUT ROWID;
        """

    /// Acknowledges the worker's previous batch (deletes its in-flight rows), pops and records
    /// the new items as its in-flight rows, in one transaction. A task recovered from a dead
    /// worker (`NAME.recovered`) comes first and alone, so a poison task is never again in
    /// flight beside others and only its own deaths count.
    public func pop(_ keys: KeySpace, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]] {
        guard count > 0 else { return [] }
        let database = database
        let queue = keys.queue
        // As the plain pop: a look without the write lock first, so idle workers do not take
        // turns at the lock. There is work when something is queued or this worker has a
        // previous batch to acknowledge.
        let anything = try read("pop from \(queue)") { () throws(LocalFailure) -> Bool in
            var found = false
            try database.run("""
                SELECT EXISTS (SELECT 1 FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?3)
                    OR EXISTS (SELECT 1 FROM sergeant_queue WHERE queue = ?1 OR queue = ?4)
                    OR EXISTS (SELECT 1 FROM sergeant_delayed WHERE queue = ?1 AND consumable_from <= ?2)
                """, [.text(queue), .double(unixTime()), .text(worker), .text(keys.recovered)]) { found = $0.int(0) != 0 }
            return found
        }
        guard anything else { return [] }
        return try write("pop from \(queue)") { () throws(LocalFailure) -> [[UInt8]] in
            try database.run("DELETE FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2", [.text(queue), .text(worker)])
            var items = try Self.take(1, from: keys.recovered, in: database)
            if items.isEmpty { items = try Self.take(count, from: queue, in: database) }
            for item in items {
                try database.run("INSERT INTO sergeant_in_flight (queue, worker, item) VALUES (?1, ?2, ?3)",
                                 [.text(queue), .text(worker), .blob(item)])
            }
            return items
        }
    }

    public func acknowledge(_ keys: KeySpace, worker: String) throws(BrokerError) {
        let database = database
        try write("acknowledge the tasks of \(worker) on \(keys.queue)") { () throws(LocalFailure) in
            _ = try database.run("DELETE FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2", [.text(keys.queue), .text(worker)])
        }
    }

    /// Deletes one in-flight row of `worker` holding `item` (the oldest, as LREM 1).
    public func forget(_ keys: KeySpace, worker: String, item: [UInt8]) throws(BrokerError) {
        let database = database
        try write("forget a task of \(worker) on \(keys.queue)") { () throws(LocalFailure) in
            _ = try database.run("""
                DELETE FROM sergeant_in_flight WHERE id = (
                    SELECT id FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2 AND item = ?3 ORDER BY id LIMIT 1)
                """, [.text(keys.queue), .text(worker), .blob(item)])
        }
    }

    public func heartbeat(_ keys: KeySpace, worker: String, ttl: Int) throws(BrokerError) {
        let database = database
        try write("heartbeat of \(worker) on \(keys.queue)") { () throws(LocalFailure) in
            _ = try database.run("""
                INSERT INTO sergeant_heartbeats (queue, worker, expires_at) VALUES (?1, ?2, ?3)
                ON CONFLICT (queue, worker) DO UPDATE SET expires_at = excluded.expires_at
                """, [.text(keys.queue), .text(worker), .double(unixTime() + Double(ttl))])
        }
    }

    /// In one transaction: the in-flight rows and reclaimed rows of `worker` (reaped by its
    /// supervisor) and, with `alsoExpired`, of every other worker of the queue whose heartbeat
    /// is gone or expired, become the claimant's reclaimed rows; all of those are returned.
    /// A worker whose heartbeat is live is checked in the same transaction that would take
    /// its rows, so it is never robbed.
    public func reclaim(_ keys: KeySpace, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]] {
        let database = database
        let queue = keys.queue
        return try write("reclaim the in-flight tasks of dead workers on \(queue)") { () throws(LocalFailure) -> [[UInt8]] in
            let now = unixTime()
            var candidates = worker.map { [$0] } ?? []
            if alsoExpired {
                try database.run("""
                    SELECT worker FROM sergeant_in_flight WHERE queue = ?1
                    UNION SELECT claimant FROM sergeant_reclaimed WHERE queue = ?1
                    EXCEPT SELECT worker FROM sergeant_heartbeats WHERE queue = ?1 AND expires_at > ?2
                    """, [.text(queue), .double(now)]) { candidates.append(String(decoding: $0.bytes(0), as: UTF8.self)) }
            }
            for dead in Set(candidates) where dead != claimant {
                let names: [LocalValue] = [.text(queue), .text(dead), .text(claimant)]
                // Its in-flight tasks, then what it had itself taken over, in order.
                try database.run("""
                    INSERT INTO sergeant_reclaimed (queue, claimant, item)
                    SELECT queue, ?3, item FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2 ORDER BY id
                    """, names)
                try database.run("""
                    INSERT INTO sergeant_reclaimed (queue, claimant, item)
                    SELECT queue, ?3, item FROM sergeant_reclaimed WHERE queue = ?1 AND claimant = ?2 ORDER BY id
                    """, names)
                try database.run("DELETE FROM sergeant_in_flight WHERE queue = ?1 AND worker = ?2", Array(names.prefix(2)))
                try database.run("DELETE FROM sergeant_reclaimed WHERE queue = ?1 AND claimant = ?2", Array(names.prefix(2)))
                try database.run("DELETE FROM sergeant_heartbeats WHERE queue = ?1 AND worker = ?2", Array(names.prefix(2)))
            }
            // Heartbeats that expired say nothing a missing one does not: they go.
            try database.run("DELETE FROM sergeant_heartbeats WHERE queue = ?1 AND expires_at <= ?2", [.text(queue), .double(now)])
            // All of the claimant's reclaimed rows: also what an earlier recovery of its own took
            // and failed to push back.
            var items: [[UInt8]] = []
            try database.run("SELECT item FROM sergeant_reclaimed WHERE queue = ?1 AND claimant = ?2 ORDER BY id",
                             [.text(queue), .text(claimant)]) { items.append($0.bytes(0)) }
            return items
        }
    }

    public func releaseReclaimed(_ keys: KeySpace, by claimant: String) throws(BrokerError) {
        let database = database
        try write("release the reclaimed tasks of \(claimant) on \(keys.queue)") { () throws(LocalFailure) in
            _ = try database.run("DELETE FROM sergeant_reclaimed WHERE queue = ?1 AND claimant = ?2", [.text(keys.queue), .text(claimant)])
        }
    }

    /// Counts per task by the task's CRC-32 and length, as the Redis connector's `NAME.deaths`.
    public func countDeath(_ keys: KeySpace, item: [UInt8]) throws(BrokerError) -> Int {
        let database = database
        let crc = item.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        let digest = String(crc, radix: 16) + String(item.count)
        return try write("count a death on \(keys.queue)") { () throws(LocalFailure) -> Int in
            var count = 0
            try database.run("""
                INSERT INTO sergeant_deaths (queue, digest, count) VALUES (?1, ?2, 1)
                ON CONFLICT (queue, digest) DO UPDATE SET count = count + 1 RETURNING count
                """, [.text(keys.queue), .text(digest)]) { count = Int($0.int(0)) }
            return count
        }
    }

    // MARK: Inspection

    /// Every task of `queue` in flight or reclaimed now, with the worker (or claimant) that
    /// holds it: what `sergeant-chaos` and diagnostics count as not yet done.
    public func inFlightItems(queue: String) throws(BrokerError) -> [(worker: String, item: [UInt8])] {
        let database = database
        return try read("read the in-flight tasks of \(queue)") { () throws(LocalFailure) -> [(worker: String, item: [UInt8])] in
            var items: [(worker: String, item: [UInt8])] = []
            try database.run("""
                SELECT worker, item FROM sergeant_in_flight WHERE queue = ?1
                UNION ALL SELECT claimant, item FROM sergeant_reclaimed WHERE queue = ?1
                """, [.text(queue)]) { items.append((String(decoding: $0.bytes(0), as: UTF8.self), $0.bytes(1))) }
            return items
        }
    }
}
