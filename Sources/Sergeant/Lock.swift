import SergeantABI

// MARK: - Lock

/// A lock shared by every worker on the broker, as sergeant's `Lock`: the key
/// `__lock__.NAME`, taken with SET NX EX.
public final class Lock: @unchecked Sendable {
    /// The lock's name (without the `__lock__.` prefix).
    public let name: String
    /// True while this object holds the lock.
    public private(set) var acquired = false
    private let worker: Worker

    init(name: String, worker: Worker) {
        self.name = name
        self.worker = worker
    }

    /// Tries to take the lock every `checkInterval` seconds until `timeout` passes (nil:
    /// forever). The lock expires after `ttl` seconds. True when taken.
    @discardableResult
    public func acquire(timeout: Double? = nil, checkInterval: Double = 1, ttl: Int = 60) throws -> Bool {
        let connection = try worker.attached()
        let acquire = try connection.function(\.lock_acquire, named: "lock_acquire")
        var taken: Int32 = 0
        try connection.call("lock_acquire") { host, error in
            acquire(host, name, timeout ?? -1, checkInterval, Int64(ttl), &taken, error)
        }
        acquired = taken != 0
        return acquired
    }

    /// Frees the lock when this object holds it; true when a lock was deleted.
    @discardableResult
    public func release() throws -> Bool {
        guard acquired else { return false }
        let connection = try worker.attached()
        let release = try connection.function(\.lock_release, named: "lock_release")
        var released: Int32 = 0
        try connection.call("lock_release") { host, error in release(host, name, &released, error) }
        acquired = false
        return released != 0
    }

    /// True when anyone holds the lock.
    public func isLocked() throws -> Bool {
        let connection = try worker.attached()
        let isLocked = try connection.function(\.lock_is_locked, named: "lock_is_locked")
        var locked: Int32 = 0
        try connection.call("lock_is_locked") { host, error in isLocked(host, name, &locked, error) }
        return locked != 0
    }

    /// Sets the lock's time to live; true when the lock exists.
    @discardableResult
    public func setTTL(_ ttl: Int) throws -> Bool {
        let connection = try worker.attached()
        let setTTL = try connection.function(\.lock_set_ttl, named: "lock_set_ttl")
        var wasSet: Int32 = 0
        try connection.call("lock_set_ttl") { host, error in setTTL(host, name, Int64(ttl), &wasSet, error) }
        return wasSet != 0
    }

    /// Seconds the lock has left; nil when free or without expiry.
    public func getTTL() throws -> Int? {
        let connection = try worker.attached()
        let getTTL = try connection.function(\.lock_get_ttl, named: "lock_get_ttl")
        var ttl: Int64 = -1
        try connection.call("lock_get_ttl") { host, error in getTTL(host, name, &ttl, error) }
        return ttl >= 0 ? Int(ttl) : nil
    }
}
