#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantCore

// MARK: - Broker

/// sergeant's `Broker`: tasks and values on top of a ``QueueConnector``, through a
/// ``TaskEncoder``. Thread-safe: one lock serialises the connector, which holds one
/// connection per node.
public final class Broker: @unchecked Sendable {
    /// The storage.
    public let connector: any QueueConnector
    /// How tasks become bytes.
    public let encoder: TaskEncoder
    /// Largest task in bytes as stored; 0 for no limit.
    public let maxTaskSize: Int
    private let lock = Mutex()
    /// `queue \0 worker` of the workers whose first heartbeat this broker wrote.
    private var registered: Set<String> = []

    /// Creates a broker.
    public init(connector: any QueueConnector, encoder: TaskEncoder, maxTaskSize: Int = 0) {
        self.connector = connector
        self.encoder = encoder
        self.maxTaskSize = maxTaskSize
    }

    /// The broker a worker configuration names. `reconnectTimeout` is how long a dead Redis
    /// is retried before an operation fails (default: SERGEANT_RECONNECT_TIMEOUT, else 30 s).
    public convenience init(config: WorkerConfig, logger: Logger, reconnectTimeout: Double? = nil) throws(BrokerError) {
        switch config.connector.type {
        case .redis:
            let timeout = reconnectTimeout ?? getenv("SERGEANT_RECONNECT_TIMEOUT").flatMap { Double(String(cString: $0)) } ?? 30
            self.init(connector: RedisConnector(nodes: config.connector.params.nodes ?? [], logger: logger, reconnectTimeout: timeout),
                      encoder: config.encoder.taskEncoder, maxTaskSize: config.maxTaskSize)
        case .local:
            let connector = try LocalConnector(filePath: config.connector.params.filePath ?? ConnectorConfig.defaultLocalFilePath)
            self.init(connector: connector, encoder: config.encoder.taskEncoder, maxTaskSize: config.maxTaskSize)
        }
    }

    /// Runs `body` with exclusive use of the connector.
    public func withConnector<T>(_ body: (any QueueConnector) throws(BrokerError) -> T) throws(BrokerError) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(connector)
    }

    // MARK: Tasks

    /// Pushes tasks in one round trip.
    public func push(tasks: [SergeantTask], queue: String, priority: TaskPriority = .normal,
                     consumableFrom: Double? = nil) throws(BrokerError) {
        try push(encodedTasks: tasks.map { $0.messagePack() }, queue: queue, priority: priority, consumableFrom: consumableFrom)
    }

    /// Pushes tasks already serialized to msgpack (compressed here when configured).
    public func push(encodedTasks: [[UInt8]], queue: String, priority: TaskPriority = .normal,
                     consumableFrom: Double? = nil) throws(BrokerError) {
        var items: [[UInt8]] = []
        items.reserveCapacity(encodedTasks.count)
        for task in encodedTasks {
            do { items.append(try encoder.encode(messagePack: task)) } catch { throw BrokerError(error.message) }
            if let size = items.last?.count, maxTaskSize > 0, size > maxTaskSize {
                throw BrokerError("a task of \(size) bytes exceeds max_task_size (\(maxTaskSize) bytes); nothing was pushed."
                    + " Send a reference to the data instead, or raise max_task_size in the worker's configuration")
            }
        }
        try withConnector { connector throws(BrokerError) in
            try connector.push(queue: queue, items: items, priority: priority, consumableFrom: consumableFrom)
        }
    }

    /// Pops up to `count` tasks. Bytes that are not a readable task are moved to the queue's
    /// dead-letter list (`NAME.dead`) with the reason, and reported in `rejected`.
    /// With `inFlightFor`, the tasks are recorded as that worker's until it acknowledges them;
    /// its first heartbeat is written before its first such pop, so no sibling's recovery
    /// ever takes a live worker for a dead one.
    public func pop(queue: String, count: Int, inFlightFor worker: String? = nil) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
        let items = try withConnector { connector throws(BrokerError) in
            guard let worker else { return try connector.pop(queue: queue, count: count) }
            try register(worker, queue: queue, on: connector)
            return try connector.pop(queue: queue, count: count, inFlightFor: worker)
        }
        return try decode(items, queue: queue)
    }

    /// Waits up to `timeout` seconds for one task to arrive (a blocking pop on Redis), so an
    /// idle worker starts a new task at once without polling.
    public func wait(queue: String, timeout: Double, inFlightFor worker: String? = nil) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
        let items = try withConnector { connector throws(BrokerError) in
            if let worker { try register(worker, queue: queue, on: connector) }
            return try connector.waitForItems(queue: queue, timeout: timeout, inFlightFor: worker)
        }
        return try decode(items, queue: queue)
    }

    /// Writes the first heartbeat of `worker` on `queue`, once, before anything is recorded in
    /// flight for it (the caller holds the lock).
    private func register(_ worker: String, queue: String, on connector: any QueueConnector) throws(BrokerError) {
        let key = queue + "\u{0}" + worker
        guard !registered.contains(key) else { return }
        try connector.heartbeat(queue: queue, worker: worker, ttl: Self.heartbeatTTL)
        registered.insert(key)
    }

    /// Decodes popped items; undecodable ones go to the dead-letter list.
    private func decode(_ items: [[UInt8]], queue: String) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
        var tasks: [PoppedTask] = []
        tasks.reserveCapacity(items.count)
        var rejected: [String] = []
        var dead: [[UInt8]] = []
        for item in items {
            do throws(TaskDecodingError) {
                if maxTaskSize > 0 && item.count > maxTaskSize {
                    throw TaskDecodingError("the task has \(item.count) bytes, more than max_task_size (\(maxTaskSize) bytes)")
                }
                let bytes = try encoder.decodeToMessagePack(item)
                // Checked, not built: the plugin decodes the task itself.
                try SergeantTask.validate(messagePack: bytes)
                tasks.append(PoppedTask(messagePack: bytes, stored: item))
            } catch {
                rejected.append(error.message)
                dead.append(Self.deadLetter(raw: item, reason: error.message))
            }
        }
        if !dead.isEmpty {
            try setAside(dead, queue: queue)
        }
        return (tasks, rejected)
    }

    /// Appends dead-letter entries (see ``deadLetter(raw:reason:)``) to `NAME.dead`.
    public func setAside(_ entries: [[UInt8]], queue: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in
            try connector.push(queue: deadLetterKey(queue), items: entries, priority: .normal, consumableFrom: nil)
        }
    }

    // MARK: At-least-once delivery

    /// The tasks `worker` pulled are done: forget them.
    public func acknowledge(queue: String, worker: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in try connector.acknowledge(queue: queue, worker: worker) }
    }

    /// Returns the in-flight tasks of a dead worker (and of every worker whose heartbeat
    /// expired) to be worked first (`NAME.recovered`); a task that was in flight at `maxDeaths` deaths
    /// goes to `NAME.dead` instead. Returns (requeued, set aside).
    @discardableResult
    public func recover(queue: String, deadWorker: String?, claimant: String, maxDeaths: Int) throws(BrokerError) -> (requeued: Int, deadLettered: Int) {
        try withConnector { connector throws(BrokerError) in
            // The claimant holds what it takes in its own record until it is pushed back.
            try register(claimant, queue: queue, on: connector)
            let items = try connector.reclaim(queue: queue, worker: deadWorker, alsoExpired: true, by: claimant)
            guard !items.isEmpty else { return (0, 0) }
            var back: [[UInt8]] = []
            var dead: [[UInt8]] = []
            for item in items {
                let deaths = try connector.countDeath(queue: queue, item: item)
                if maxDeaths > 0 && deaths >= maxDeaths {
                    dead.append(Self.deadLetter(raw: item, reason: "the task was in flight when its worker died \(deaths) times (poison task)"))
                } else {
                    back.append(item)
                }
            }
            // Recovered tasks are pulled one at a time before the queue (see
            // RedisConnector.popInFlightScript), so a poison task is soon alone in flight and
            // only its own deaths count.
            try connector.push(queue: recoveredKey(queue), items: back, priority: .normal, consumableFrom: nil)
            try connector.push(queue: deadLetterKey(queue), items: dead, priority: .normal, consumableFrom: nil)
            // Until here the claimant's own in-flight record held them.
            try connector.acknowledge(queue: queue, worker: claimant)
            return (back.count, dead.count)
        }
    }

    /// A task of `worker`'s that its watchdog ends: forget that one only.
    public func forget(stored item: [UInt8], queue: String, worker: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in try connector.forget(queue: queue, worker: worker, item: item) }
    }

    /// Seconds a heartbeat keeps a worker alive; its worker renews it every
    /// ``heartbeatInterval`` seconds, so two renewals can fail before it looks dead.
    public static let heartbeatTTL = 15
    /// Seconds between two heartbeats of a worker.
    public static let heartbeatInterval = 5.0

    /// Marks `worker` alive for ``heartbeatTTL`` seconds.
    public func heartbeat(queue: String, worker: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in
            try connector.heartbeat(queue: queue, worker: worker, ttl: Self.heartbeatTTL)
        }
    }

    /// Deletes the queue with its delayed tasks.
    @discardableResult
    public func purge(queue: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.delete(queue: queue) }
    }

    /// Number of queued tasks; delayed ones too when `includeDelayed` (due ones always).
    public func count(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int {
        try withConnector { connector throws(BrokerError) in try connector.length(queue: queue, includeDelayed: includeDelayed) }
    }

    /// A dead-letter entry: msgpack `{"reason": str, "date": float, "task": bytes}`.
    static func deadLetter(raw: [UInt8], reason: String) -> [UInt8] {
        MessagePack.encode(["reason": .string(reason), "date": .double(unixTime()), "task": .bytes(raw)])
    }
}

// MARK: - PoppedTask

/// A task pulled from the broker and checked to be readable: its msgpack bytes (what the
/// plugin receives and decodes) and the bytes as stored.
public struct PoppedTask: Sendable {
    /// The task's msgpack bytes, decompressed.
    public var messagePack: [UInt8]
    /// The bytes as the broker stored them (compressed when configured).
    public var stored: [UInt8]

    /// Creates a popped task.
    public init(messagePack: [UInt8], stored: [UInt8]) {
        self.messagePack = messagePack
        self.stored = stored
    }
}
