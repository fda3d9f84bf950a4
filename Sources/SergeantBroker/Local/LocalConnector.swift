import CSQLite
import SergeantCore

// MARK: - LocalConnector

/// sergeant's local connector: queues, keys and locks in one SQLite file that every worker
/// and producer of a machine opens at the same time, each process with its own connection.
///
/// Durability: the file is in WAL mode (readers never block the writer; a process killed at
/// any moment leaves the file intact with every committed transaction). A push commits with
/// `synchronous=FULL`: the WAL is fsynced before the push returns, so a task a producer was
/// told is stored survives a power cut too (and so does everything committed before it).
/// Everything else (pops with their in-flight rows, acknowledgements, heartbeats, keys,
/// locks) commits with `synchronous=NORMAL`, without an fsync (about ten times cheaper here:
/// 0.55 ms against 5.4 ms a commit): a power cut can only roll such commits back, and a
/// rolled-back pop or acknowledgement means a task queued again, delivered at least once.
/// Every change runs in a `BEGIN IMMEDIATE` transaction, so two processes never pop the same
/// item; while another process holds the write lock an operation waits and retries for up
/// to `busyTimeout` seconds.
///
/// The semantics are the Redis connector's: a queue is a deque (``TaskPriority/normal`` appends
/// at the tail like RPUSH, ``TaskPriority/high`` goes before the head like LPUSH), delayed
/// items wait in a separate table until their time, and a pop takes queued items first and
/// then due delayed ones, earliest first. Unlike a Redis sorted set, identical delayed items
/// are kept as separate items.
///
/// The tables are named `sergeant_*`, so they live beside Python sergeant's own tables when
/// both use the default file, without sharing queues with them.
public final class LocalConnector: QueueConnector {
    /// The SQLite file.
    public let filePath: String
    let database: LocalDatabase
    /// Per-bucket counts (``ThroughputRecords/stage(_:_:at:)``) waiting for the next write
    /// transaction, which adds them first.
    var stagedThroughput: [StagedBucket: (processed: Int, failed: Int)] = [:]

    /// The tables and indexes, created when missing.
    static let schema = """
        CREATE TABLE IF NOT EXISTS sergeant_queue (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            position INTEGER NOT NULL,
            item BLOB NOT NULL
        );
        CREATE UNIQUE INDEX IF NOT EXISTS sergeant_queue_order ON sergeant_queue (queue, position);
        CREATE TABLE IF NOT EXISTS sergeant_delayed (
            id INTEGER PRIMARY KEY,
            queue TEXT NOT NULL,
            consumable_from REAL NOT NULL,
            item BLOB NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sergeant_delayed_order ON sergeant_delayed (queue, consumable_from);
        CREATE TABLE IF NOT EXISTS sergeant_keys (
            name TEXT PRIMARY KEY,
            value BLOB NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sergeant_locks (
            name TEXT PRIMARY KEY,
            expires_at REAL NOT NULL
        );
        """

    /// Every table of the file.
    static let tables = ["sergeant_queue", "sergeant_delayed", "sergeant_keys", "sergeant_locks", "sergeant_throughput"] + inFlightTables

    /// Opens `filePath`, creating the file and its tables when missing, and switches it to
    /// WAL. Throws when the file cannot be opened or written, or is not a database.
    ///
    /// - Parameter busyTimeout: seconds an operation waits while other processes hold the
    ///   file's write lock before it fails.
    public init(filePath: String, busyTimeout: Double = 30) throws(BrokerError) {
        guard !filePath.isEmpty else {
            throw BrokerError("the local connector's file_path is empty; name an SQLite file such as "
                + ConnectorConfig.defaultLocalFilePath)
        }
        self.filePath = filePath
        database = try LocalDatabase(path: filePath, busyTimeout: busyTimeout)
        if database.isReadOnly {
            throw database.brokerError(LocalFailure(code: SQLITE_READONLY, message: "opened read-only"),
                                       doing: "opening the queue file")
        }
        do {
            // Opening takes the write lock only for a new file: a worker starting next to
            // busy ones does not wait for them.
            try database.retrying { () throws(LocalFailure) in
                var mode = ""
                try database.run("PRAGMA journal_mode") { mode = String(decoding: $0.bytes(0), as: UTF8.self) }
                // Persistent in the file: set once, by whichever process comes first.
                if mode != "wal" { try database.execute("PRAGMA journal_mode = WAL") }
            }
            // Per connection: with WAL, a commit survives the process being killed; only a
            // power cut can lose the last commits, never the file.
            try database.execute("PRAGMA synchronous = NORMAL")
            let tables = try database.retrying { () throws(LocalFailure) -> Int in
                var count = 0
                let names = Self.tables.map { "'\($0)'" }.joined(separator: ", ")
                try database.run("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (\(names))") {
                    count = Int($0.int(0))
                }
                return count
            }
            // A file of an older version gains the tables it lacks.
            if tables < Self.tables.count {
                try database.transaction(immediate: true) { () throws(LocalFailure) in
                    try database.execute(Self.schema)
                    try database.execute(Self.inFlightSchema)
                    try database.execute(Self.throughputSchema)
                }
            }
        } catch {
            throw database.brokerError(error, doing: "opening the queue file")
        }
    }

    /// Runs `body` as one write transaction, turning failures into ``BrokerError``;
    /// `durable` for a push (see the type's durability notes). Staged per-bucket counts are
    /// added in the same transaction, ahead of `body`.
    func write<T>(_ what: @autoclosure () -> String, durable: Bool = false,
                  _ body: () throws(LocalFailure) -> T) throws(BrokerError) -> T {
        do {
            guard !stagedThroughput.isEmpty else { return try database.transaction(immediate: true, durable: durable, body) }
            let staged = stagedThroughput
            let database = database
            let result = try database.transaction(immediate: true, durable: durable) { () throws(LocalFailure) -> T in
                try Self.add(staged, in: database)
                return try body()
            }
            stagedThroughput.removeAll()
            return result
        } catch {
            throw database.brokerError(error, doing: what())
        }
    }

    /// Runs `body` (one statement, or a read transaction) retried while the file is busy.
    func read<T>(_ what: @autoclosure () -> String, _ body: () throws(LocalFailure) -> T) throws(BrokerError) -> T {
        do {
            return try database.retrying(body)
        } catch {
            throw database.brokerError(error, doing: what())
        }
    }

    // MARK: Queues

    /// Pushes items in one transaction: delayed ones when `consumableFrom` is set, otherwise
    /// at the tail (normal) or, one after the other, before the head (high, as LPUSH).
    public func push(queue: String, items: [[UInt8]], priority: TaskPriority, consumableFrom: Double?) throws(BrokerError) {
        guard !items.isEmpty else { return }
        let database = database
        try write("push to \(queue)", durable: true) { () throws(LocalFailure) in
            if let consumableFrom {
                for item in items {
                    try database.run("INSERT INTO sergeant_delayed (queue, consumable_from, item) VALUES (?1, ?2, ?3)",
                                     [.text(queue), .double(consumableFrom), .blob(item)])
                }
                return
            }
            try Self.append(items, to: queue, high: priority == .high, in: database)
        }
    }

    /// Appends items at the tail of `queue` (or, one after the other, before its head), inside
    /// the caller's transaction.
    static func append(_ items: [[UInt8]], to queue: String, high: Bool, in database: LocalDatabase) throws(LocalFailure) {
        guard !items.isEmpty else { return }
        var end: Int64?
        try database.run(high
            ? "SELECT position FROM sergeant_queue WHERE queue = ?1 ORDER BY position LIMIT 1"
            : "SELECT position FROM sergeant_queue WHERE queue = ?1 ORDER BY position DESC LIMIT 1",
            [.text(queue)]) { end = $0.int(0) }
        let step: Int64 = high ? -1 : 1
        var position = (end ?? 0) + step
        for item in items {
            try database.run("INSERT INTO sergeant_queue (queue, position, item) VALUES (?1, ?2, ?3)",
                             [.text(queue), .int(position), .blob(item)])
            position += step
        }
    }

    /// One transaction per batch: the batch's rows leave `source` and land where `decide`
    /// says, all or nothing.
    public func moveAll(from source: String, to destination: String, batch: Int,
                        _ decide: ([UInt8]) -> MoveDecision) throws(BrokerError) -> (moved: Int, kept: Int) {
        let database = database
        var left = try length(queue: source, includeDelayed: false)
        var moved = 0
        var kept = 0
        while left > 0 {
            let done = try write("move \(source) to \(destination)") { () throws(LocalFailure) -> (taken: Int, moved: Int, kept: Int) in
                var items: [[UInt8]] = []
                var lastPosition: Int64?
                try database.run("SELECT position, item FROM sergeant_queue WHERE queue = ?1 ORDER BY position LIMIT ?2",
                                 [.text(source), .int(Int64(min(batch, left)))]) { row in
                    lastPosition = row.int(0)
                    items.append(row.bytes(1))
                }
                guard let lastPosition else { return (0, 0, 0) }
                try database.run("DELETE FROM sergeant_queue WHERE queue = ?1 AND position <= ?2", [.text(source), .int(lastPosition)])
                let (toMove, toKeep) = MoveDecision.split(items, by: decide)
                try Self.append(toMove, to: destination, high: false, in: database)
                try Self.append(toKeep, to: source, high: false, in: database)
                return (items.count, toMove.count, toKeep.count)
            }
            guard done.taken > 0 else { break }
            moved += done.moved
            kept += done.kept
            left -= done.taken
        }
        return (moved, kept)
    }

    /// Pops up to `count` items in one transaction: from the head of the queue first, then
    /// delayed items whose time has come, earliest first.
    public func pop(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        guard count > 0 else { return [] }
        let database = database
        // A look without the write lock first, so that idle workers polling an empty queue
        // do not take turns at the lock. An item pushed just after it is found by the next poll.
        let anything = try read("pop from \(queue)") { () throws(LocalFailure) -> Bool in
            var found = false
            try database.run("""
                SELECT EXISTS (SELECT 1 FROM sergeant_queue WHERE queue = ?1)
                    OR EXISTS (SELECT 1 FROM sergeant_delayed WHERE queue = ?1 AND consumable_from <= ?2)
                """, [.text(queue), .double(unixTime())]) { found = $0.int(0) != 0 }
            return found
        }
        guard anything else { return [] }
        return try write("pop from \(queue)") { () throws(LocalFailure) -> [[UInt8]] in
            try Self.take(count, from: queue, in: database)
        }
    }

    /// Deletes and returns up to `count` items of `queue`, inside the caller's transaction:
    /// from the head first, then delayed items whose time has come, earliest first.
    static func take(_ count: Int, from queue: String, in database: LocalDatabase) throws(LocalFailure) -> [[UInt8]] {
        var items: [[UInt8]] = []
        var lastPosition: Int64?
        try database.run("SELECT position, item FROM sergeant_queue WHERE queue = ?1 ORDER BY position LIMIT ?2",
                         [.text(queue), .int(Int64(count))]) { row in
            lastPosition = row.int(0)
            items.append(row.bytes(1))
        }
        if let lastPosition {
            // The rows just read are exactly the queue's rows up to the last position.
            try database.run("DELETE FROM sergeant_queue WHERE queue = ?1 AND position <= ?2",
                             [.text(queue), .int(lastPosition)])
        }
        guard items.count < count else { return items }
        var last: (time: Double, id: Int64)?
        try database.run("""
            SELECT consumable_from, id, item FROM sergeant_delayed
            WHERE queue = ?1 AND consumable_from <= ?2
            ORDER BY consumable_from, id LIMIT ?3
            """, [.text(queue), .double(unixTime()), .int(Int64(count - items.count))]) { row in
            last = (row.double(0), row.int(1))
            items.append(row.bytes(2))
        }
        if let last {
            try database.run("""
                DELETE FROM sergeant_delayed
                WHERE queue = ?1 AND (consumable_from < ?2 OR (consumable_from = ?2 AND id <= ?3))
                """, [.text(queue), .double(last.time), .int(last.id)])
        }
        return items
    }

    /// Up to `count` queued items from the head, left in place.
    public func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        let database = database
        return try read("read \(queue)") { () throws(LocalFailure) -> [[UInt8]] in
            var items: [[UInt8]] = []
            try database.run("SELECT item FROM sergeant_queue WHERE queue = ?1 ORDER BY position LIMIT ?2",
                             [.text(queue), .int(Int64(count))]) { items.append($0.bytes(0)) }
            return items
        }
    }

    /// Queued items plus delayed ones: all of them, or only those whose time has come.
    public func length(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int {
        let database = database
        return try read("length of \(queue)") { () throws(LocalFailure) -> Int in
            var total = 0
            // One statement, so both counts come from the same snapshot.
            if includeDelayed {
                try database.run("""
                    SELECT (SELECT count(*) FROM sergeant_queue WHERE queue = ?1)
                         + (SELECT count(*) FROM sergeant_delayed WHERE queue = ?1)
                    """, [.text(queue)]) { total = Int($0.int(0)) }
            } else {
                try database.run("""
                    SELECT (SELECT count(*) FROM sergeant_queue WHERE queue = ?1)
                         + (SELECT count(*) FROM sergeant_delayed WHERE queue = ?1 AND consumable_from <= ?2)
                    """, [.text(queue), .double(unixTime())]) { total = Int($0.int(0)) }
            }
            return total
        }
    }

    /// Deletes the queue's items and delayed items; true when there were any.
    public func delete(queue: String) throws(BrokerError) -> Bool {
        let database = database
        return try write("delete \(queue)") { () throws(LocalFailure) -> Bool in
            let queued = try database.run("DELETE FROM sergeant_queue WHERE queue = ?1", [.text(queue)])
            let delayed = try database.run("DELETE FROM sergeant_delayed WHERE queue = ?1", [.text(queue)])
            return queued + delayed > 0
        }
    }

    // MARK: Keys

    /// Sets a key; true when it did not exist before (as Redis GETSET returning nil).
    public func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool {
        let database = database
        return try write("set key \(key)") { () throws(LocalFailure) -> Bool in
            if try database.run("INSERT OR IGNORE INTO sergeant_keys (name, value) VALUES (?1, ?2)", [.text(key), .blob(value)]) == 1 {
                return true
            }
            try database.run("UPDATE sergeant_keys SET value = ?2 WHERE name = ?1", [.text(key), .blob(value)])
            return false
        }
    }

    /// Reads a key; nil when it does not exist.
    public func keyGet(_ key: String) throws(BrokerError) -> [UInt8]? {
        let database = database
        return try read("get key \(key)") { () throws(LocalFailure) -> [UInt8]? in
            var value: [UInt8]?
            try database.run("SELECT value FROM sergeant_keys WHERE name = ?1", [.text(key)]) { value = $0.bytes(0) }
            return value
        }
    }

    /// Deletes a key; true when it existed.
    public func keyDelete(_ key: String) throws(BrokerError) -> Bool {
        let database = database
        return try write("delete key \(key)") { () throws(LocalFailure) -> Bool in
            try database.run("DELETE FROM sergeant_keys WHERE name = ?1", [.text(key)]) == 1
        }
    }

    // MARK: Locks

    /// Takes lock `name` for `ttl` seconds when it is free or expired; true when taken. A
    /// `ttl` below one second takes nothing, as Redis refuses SET EX 0.
    public func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        guard ttl > 0 else { return false }
        let database = database
        return try write("acquire lock \(name)") { () throws(LocalFailure) -> Bool in
            let now = unixTime()
            // Inserts a free lock, or takes over an expired one; a live lock changes nothing.
            return try database.run("""
                INSERT INTO sergeant_locks (name, expires_at) VALUES (?1, ?3)
                ON CONFLICT (name) DO UPDATE SET expires_at = excluded.expires_at WHERE expires_at <= ?2
                """, [.text(name), .double(now), .double(now + Double(ttl))]) == 1
        }
    }

    /// Frees lock `name`; true when it was held (an expired lock was not).
    public func lockRelease(_ name: String) throws(BrokerError) -> Bool {
        let database = database
        return try write("release lock \(name)") { () throws(LocalFailure) -> Bool in
            var held = false
            try database.run("DELETE FROM sergeant_locks WHERE name = ?1 RETURNING expires_at > ?2",
                             [.text(name), .double(unixTime())]) { held = $0.int(0) != 0 }
            return held
        }
    }

    /// True when lock `name` is held and not expired.
    public func lockIsLocked(_ name: String) throws(BrokerError) -> Bool {
        let database = database
        return try read("check lock \(name)") { () throws(LocalFailure) -> Bool in
            var held = false
            try database.run("SELECT 1 FROM sergeant_locks WHERE name = ?1 AND expires_at > ?2",
                             [.text(name), .double(unixTime())]) { _ in held = true }
            return held
        }
    }

    /// Gives a held lock `ttl` more seconds from now (none or fewer frees it, as Redis
    /// EXPIRE); true when the lock was held.
    public func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        let database = database
        return try write("set the ttl of lock \(name)") { () throws(LocalFailure) -> Bool in
            let now = unixTime()
            return try database.run("UPDATE sergeant_locks SET expires_at = ?3 WHERE name = ?1 AND expires_at > ?2",
                                    [.text(name), .double(now), .double(now + Double(ttl))]) == 1
        }
    }

    /// Seconds lock `name` has left, rounded as Redis TTL rounds; nil when free or expired.
    public func lockGetTTL(_ name: String) throws(BrokerError) -> Int? {
        let database = database
        return try read("get the ttl of lock \(name)") { () throws(LocalFailure) -> Int? in
            let now = unixTime()
            var ttl: Int?
            try database.run("SELECT expires_at FROM sergeant_locks WHERE name = ?1 AND expires_at > ?2",
                             [.text(name), .double(now)]) { ttl = Int(($0.double(0) - now).rounded()) }
            return ttl
        }
    }
}

// MARK: - Registration

extension LocalConnector {
    /// The registry's factory (``ConnectorRegistry``): `connector.params.file_path`, or
    /// sergeant's default file in the temp dir.
    static let make: ConnectorRegistry.Factory = { config, _ throws(BrokerError) in
        try LocalConnector(filePath: config.params.filePath ?? ConnectorConfig.defaultLocalFilePath)
    }
}
