#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantCompression
import SergeantCore

// MARK: - Broker

/// sergeant's `Broker`: tasks and values on top of a ``QueueConnector``, through a
/// ``TaskEncoder``, and the only door to the connector: every key name comes from the
/// queue's ``KeySpace`` here, and optional abilities (``InFlightRecords``, ``BlockingWait``)
/// are used only when the connector declares them. Thread-safe: one lock serialises the
/// connector, which holds one connection per node.
///
/// ```swift
/// let broker = try Broker(config: WorkerConfig(name: "q", connector: .redis(nodes: [RedisNode()])), logger: logger)
/// try broker.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
/// let (tasks, rejected) = try broker.pop(queue: "q", count: 10)
/// ```
public final class Broker: @unchecked Sendable {
    /// The storage; reached only through this broker (and tests).
    let connector: any QueueConnector
    /// The connector's at-least-once records, when it has them.
    let inFlight: (any InFlightRecords)?
    /// The connector's blocking wait, when it has one.
    let blocking: (any BlockingWait)?
    /// The connector's fleet records, when it has them.
    let fleet: (any FleetRecords)?
    /// The connector's per-bucket counters, when it keeps them (cast once: a cast per
    /// ``record(_:queue:at:)`` cost a conformance lookup per batch).
    let counters: (any ThroughputRecords)?
    /// How tasks become bytes.
    public let encoder: TaskEncoder
    /// Largest task in bytes as stored; 0 for no limit.
    public let maxTaskSize: Int
    /// What the connector can do beyond the required operations.
    public var capabilities: ConnectorCapabilities { ConnectorCapabilities(of: connector) }
    /// Serialises the connector.
    let lock = Mutex()
    /// The connector wants hash-tagged key names (``HashTaggedKeys``).
    let hashTags: Bool
    /// `queue \0 worker` of the workers whose first heartbeat this broker wrote.
    var registered: Set<String> = []
    /// The last of them.
    var lastRegistered: (queue: String, worker: String)?

    /// Creates a broker over a connector.
    public init(connector: any QueueConnector, encoder: TaskEncoder, maxTaskSize: Int = 0) {
        self.connector = connector
        inFlight = connector as? any InFlightRecords
        blocking = connector as? any BlockingWait
        fleet = connector as? any FleetRecords
        counters = connector as? any ThroughputRecords
        hashTags = connector is any HashTaggedKeys
        self.encoder = encoder
        self.maxTaskSize = maxTaskSize
    }

    /// The broker a worker configuration names (see ``ConnectorRegistry``).
    /// `reconnectTimeout` is how long a dead Redis is retried before an operation fails.
    public convenience init(config: WorkerConfig, logger: Logger, reconnectTimeout: Double = 30) throws(BrokerError) {
        let connector = try ConnectorRegistry.connector(for: config.connector,
                                                        context: ConnectorContext(logger: logger, reconnectTimeout: reconnectTimeout))
        self.init(connector: connector, encoder: config.encoder.taskEncoder, maxTaskSize: config.maxTaskSize)
    }

    /// The key names of `queue` (hash-tagged on a Redis Cluster).
    public func keys(_ queue: String) -> KeySpace { KeySpace(queue: queue, hashTag: hashTags) }

    /// Runs `body` with exclusive use of the connector.
    func withConnector<T>(_ body: (any QueueConnector) throws(BrokerError) -> T) throws(BrokerError) -> T {
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
            items.append(try stored(messagePack: task))
        }
        try push(stored: items, queue: queue, priority: priority, consumableFrom: consumableFrom)
    }

    /// One task's bytes as this broker stores them: encoded as configured and checked
    /// against max_task_size. A producer that batches pushes (SergeantClient) calls this
    /// per task on its own thread, then ``push(stored:queue:priority:consumableFrom:)``.
    package func stored(messagePack task: [UInt8]) throws(BrokerError) -> [UInt8] {
        let item: [UInt8]
        do { item = try encoder.encode(messagePack: task) } catch { throw BrokerError(error.message) }
        if maxTaskSize > 0, item.count > maxTaskSize {
            throw Self.tooLarge(size: item.count, limit: maxTaskSize)
        }
        return item
    }

    /// The error of a task larger than max_task_size.
    package static func tooLarge(size: Int, limit: Int) -> BrokerError {
        BrokerError("a task of \(size) bytes exceeds max_task_size (\(limit) bytes); nothing was pushed."
            + " Send a reference to the data instead, or raise max_task_size in the worker's configuration")
    }

    /// Pushes items already as stored (see ``stored(messagePack:)``) in one round trip.
    package func push(stored items: [[UInt8]], queue: String, priority: TaskPriority,
                      consumableFrom: Double?) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in
            try connector.push(queue: keys(queue).queue, items: items, priority: priority, consumableFrom: consumableFrom)
        }
    }

    /// Pops up to `count` tasks. Bytes that are not a readable task are moved to the queue's
    /// dead-letter list (`NAME.dead`) with the reason, and reported in `rejected`.
    /// With `inFlightFor`, the tasks are recorded as that worker's until it acknowledges them
    /// (on a connector with ``InFlightRecords``); its first heartbeat is written before its
    /// first such pop, so no sibling's recovery ever takes a live worker for a dead one.
    public func pop(queue: String, count: Int, inFlightFor worker: String? = nil) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
        let keys = keys(queue)
        let items = try withConnector { connector throws(BrokerError) in
            guard let worker, let inFlight else { return try connector.pop(queue: keys.queue, count: count) }
            try register(worker, keys, on: inFlight)
            return try inFlight.pop(keys, count: count, inFlightFor: worker)
        }
        return try decode(items, queue: queue)
    }

    /// Waits up to `timeout` seconds for one task to arrive (a blocking pop where the
    /// connector has one, otherwise a short pause), so an idle worker starts a new task at
    /// once without polling.
    public func wait(queue: String, timeout: Double, inFlightFor worker: String? = nil) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
        let keys = keys(queue)
        let items = try withConnector { connector throws(BrokerError) -> [[UInt8]] in
            guard let blocking else { return [] }
            let worker = inFlight == nil ? nil : worker
            if let worker, let inFlight { try register(worker, keys, on: inFlight) }
            return try blocking.waitForItems(keys, timeout: timeout, inFlightFor: worker)
        }
        if blocking == nil { pause(seconds: min(timeout, 0.01)) }
        return try decode(items, queue: queue)
    }

    /// Decodes popped items; undecodable ones go to the dead-letter list.
    func decode(_ items: [[UInt8]], queue: String) throws(BrokerError) -> (tasks: [PoppedTask], rejected: [String]) {
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
                dead.append(DeadLetter(task: item, reason: error.message).encoded)
            }
        }
        if !dead.isEmpty {
            var counts = OutcomeCounts()
            counts.deadLettered = dead.count
            record(counts, queue: queue)
            try setAside(dead, queue: queue)
        }
        return (tasks, rejected)
    }

    /// Up to `count` tasks from the head of `queue` as stored, left in place.
    public func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]] {
        try withConnector { connector throws(BrokerError) in try connector.peek(queue: keys(queue).queue, count: count) }
    }

    /// Deletes the queue with its delayed tasks.
    @discardableResult
    public func purge(queue: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.delete(queue: keys(queue).queue) }
    }

    /// Number of queued tasks; delayed ones too when `includeDelayed` (due ones always).
    public func count(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int {
        try withConnector { connector throws(BrokerError) in
            try connector.length(queue: keys(queue).queue, includeDelayed: includeDelayed)
        }
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
