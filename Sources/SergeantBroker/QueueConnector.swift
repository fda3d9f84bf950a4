import SergeantCore

// MARK: - QueueConnector

/// A broker's storage operations on raw bytes, as sergeant's `Connector`. The ``Broker``
/// adds encoding on top; the Redis and local connectors implement this.
///
/// Connectors are used from one thread at a time; the ``Broker`` serialises access.
public protocol QueueConnector: AnyObject {
    /// Pushes items in one round trip; `consumableFrom` (unix time) makes them delayed.
    func push(queue: String, items: [[UInt8]], priority: TaskPriority, consumableFrom: Double?) throws(BrokerError)
    /// Pops up to `count` items: queued ones first, then delayed ones that are due.
    func pop(queue: String, count: Int) throws(BrokerError) -> [[UInt8]]
    /// Up to `count` queued items from the head, without removing them.
    func peek(queue: String, count: Int) throws(BrokerError) -> [[UInt8]]
    /// Number of queued items, plus delayed ones (all, or only those due).
    func length(queue: String, includeDelayed: Bool) throws(BrokerError) -> Int
    /// Deletes the queue and its delayed items; true when anything existed.
    func delete(queue: String) throws(BrokerError) -> Bool

    /// Sets a key; true when it did not exist before.
    func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool
    /// Reads a key.
    func keyGet(_ key: String) throws(BrokerError) -> [UInt8]?
    /// Deletes a key; true when it existed.
    func keyDelete(_ key: String) throws(BrokerError) -> Bool

    /// Takes lock `name` if free, for `ttl` seconds; true when taken.
    func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool
    /// Frees lock `name`; true when it was held.
    func lockRelease(_ name: String) throws(BrokerError) -> Bool
    /// True when lock `name` is held.
    func lockIsLocked(_ name: String) throws(BrokerError) -> Bool
    /// Sets the lock's time to live; true when the lock exists.
    func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool
    /// Seconds the lock has left, nil when free or without expiry.
    func lockGetTTL(_ name: String) throws(BrokerError) -> Int?

    // MARK: At-least-once delivery (see InFlight.swift; defaults keep at-most-once)

    /// Acknowledges everything `worker` had in flight (its previous batch is done), pops
    /// like ``pop(queue:count:)`` and, in the same atomic step, records the new items as in
    /// flight for `worker`, so they survive the worker's death.
    func pop(queue: String, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]]
    /// Waits up to `timeout` seconds for a queued item and pops it (recording it in flight
    /// for `worker` when given); empty when none came.
    func waitForItems(queue: String, timeout: Double, inFlightFor worker: String?) throws(BrokerError) -> [[UInt8]]
    /// Forgets what `worker` has in flight: its tasks are done (one round trip per node).
    func acknowledge(queue: String, worker: String) throws(BrokerError)
    /// Removes one item from `worker`'s in-flight record.
    func forget(queue: String, worker: String, item: [UInt8]) throws(BrokerError)
    /// Marks `worker` alive for `ttl` seconds.
    func heartbeat(queue: String, worker: String, ttl: Int) throws(BrokerError)
    /// Takes over the in-flight items of `worker` (dead: its supervisor reaped it): they move
    /// from its record to the claimant's and are returned, for the caller to push back or set
    /// aside and then acknowledge. `alsoExpired` adds every worker of the queue whose
    /// heartbeat expired, checked in the same atomic step that takes its record.
    func reclaim(queue: String, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]]
    /// Counts one more death of a worker while `item` was in flight; returns the count.
    func countDeath(queue: String, item: [UInt8]) throws(BrokerError) -> Int
}

extension QueueConnector {
    /// At-most-once fallback for connectors without in-flight records.
    public func pop(queue: String, count: Int, inFlightFor worker: String) throws(BrokerError) -> [[UInt8]] {
        try pop(queue: queue, count: count)
    }

    /// Polls briefly: connectors without a blocking pop wait a little and report nothing,
    /// and the worker loop pops again.
    public func waitForItems(queue: String, timeout: Double, inFlightFor worker: String?) throws(BrokerError) -> [[UInt8]] {
        pause(seconds: min(timeout, 0.01))
        return []
    }

    /// Nothing to forget without in-flight records.
    public func acknowledge(queue: String, worker: String) throws(BrokerError) {}

    /// Nothing to forget without in-flight records.
    public func forget(queue: String, worker: String, item: [UInt8]) throws(BrokerError) {}

    /// No heartbeats without in-flight records.
    public func heartbeat(queue: String, worker: String, ttl: Int) throws(BrokerError) {}

    /// Nothing to reclaim without in-flight records.
    public func reclaim(queue: String, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]] { [] }

    /// No death counts without in-flight records.
    public func countDeath(queue: String, item: [UInt8]) throws(BrokerError) -> Int { 0 }
}

/// The list of items `worker` has in flight: `NAME.processing.WORKER`.
public func processingKey(_ queue: String, worker: String) -> String { "\(queue).processing.\(worker)" }

/// The id of the last pop of `worker`, which makes a resent pop safe: `NAME.batch.WORKER`.
public func batchKey(_ queue: String, worker: String) -> String { "\(queue).batch.\(worker)" }

/// Tasks recovered from dead workers, popped one at a time before the queue: `NAME.recovered`.
public func recoveredKey(_ queue: String) -> String { "\(queue).recovered" }

/// The set of workers that have had items in flight: `NAME.processing`.
public func processingSetKey(_ queue: String) -> String { "\(queue).processing" }

/// A worker's heartbeat key: `NAME.heartbeat.WORKER`.
public func heartbeatKey(_ queue: String, worker: String) -> String { "\(queue).heartbeat.\(worker)" }

/// The hash counting worker deaths per in-flight task: `NAME.deaths`.
public func deathsKey(_ queue: String) -> String { "\(queue).deaths" }

/// The key a lock is stored under, as sergeant: `__lock__.NAME`.
public func lockKey(_ name: String) -> String { "__lock__.\(name)" }

/// The sorted set holding a queue's delayed tasks, as sergeant: `NAME.delayed`.
public func delayedKey(_ queue: String) -> String { "\(queue).delayed" }

/// The list holding tasks that could not be decoded or kept killing workers: `NAME.dead`.
public func deadLetterKey(_ queue: String) -> String { "\(queue).dead" }

// MARK: - BrokerError

/// A broker operation that failed, with what to do about it.
public struct BrokerError: Error, Sendable, CustomStringConvertible {
    /// What failed and why.
    public let message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
