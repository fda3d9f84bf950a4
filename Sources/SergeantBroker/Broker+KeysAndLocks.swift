import SergeantCore

// MARK: - Keys and locks

extension Broker {
    /// Sets key `name` to a msgpack value (encoded as tasks are); true when it was new.
    public func setKey(_ name: String, messagePack value: [UInt8]) throws(BrokerError) -> Bool {
        let stored: [UInt8]
        do { stored = try encoder.encode(messagePack: value) } catch { throw BrokerError(error.message) }
        return try withConnector { connector throws(BrokerError) in try connector.keySet(name, value: stored) }
    }

    /// The msgpack value of key `name`, nil when unset.
    public func getKey(_ name: String) throws(BrokerError) -> [UInt8]? {
        guard let stored = try withConnector({ connector throws(BrokerError) in try connector.keyGet(name) }) else { return nil }
        do { return try encoder.decodeToMessagePack(stored) } catch { throw BrokerError("key \(name): \(error.message)") }
    }

    /// Deletes key `name`; true when it existed.
    public func deleteKey(_ name: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.keyDelete(name) }
    }

    /// Tries to take lock `name` for `ttl` seconds until `timeout` seconds pass (negative:
    /// forever), polling every `checkInterval` seconds; true when taken. Blocks the calling
    /// thread, not the broker: other threads use it between two tries.
    public func acquireLock(_ name: String, timeout: Double, checkInterval: Double, ttl: Int) throws(BrokerError) -> Bool {
        let deadline = timeout < 0 ? Double.infinity : MonotonicClock.now + timeout
        while true {
            if try withConnector({ connector throws(BrokerError) in try connector.lockTryAcquire(name, ttl: ttl) }) { return true }
            if MonotonicClock.now > deadline { return false }
            pause(seconds: max(0.001, checkInterval))
        }
    }

    /// Frees lock `name`; true when it was held.
    public func releaseLock(_ name: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.lockRelease(name) }
    }

    /// True when lock `name` is held by anyone.
    public func isLocked(_ name: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.lockIsLocked(name) }
    }

    /// Sets the lock's time to live; true when the lock exists.
    public func setLockTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.lockSetTTL(name, ttl: ttl) }
    }

    /// Seconds lock `name` has left, nil when free or without expiry.
    public func lockTTL(_ name: String) throws(BrokerError) -> Int? {
        try withConnector { connector throws(BrokerError) in try connector.lockGetTTL(name) }
    }
}
