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
}

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
