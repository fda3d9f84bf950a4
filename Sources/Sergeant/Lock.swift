import SergeantABI
import Synchronization

// MARK: - Lock

/// A lock shared by every worker on the broker, as sergeant's `Lock`: the key
/// `__lock__.NAME`, taken with SET NX EX.
///
/// `Sendable`, and checked so by the compiler: a worker's `work` runs on several threads
/// at once (`numberOfThreads`), and one `Lock` may be shared between them. ``acquired`` is
/// behind a mutex; the host calls themselves are thread-safe on the host's side.
public final class Lock: Sendable {
    /// The lock's name (without the `__lock__.` prefix).
    public let name: String
    /// True while this object holds the lock: set by an ``acquire(timeout:checkInterval:ttl:)``
    /// that took it, cleared by ``release()``. (A failed acquire leaves it as it was: another
    /// thread of this object may hold the lock.)
    public var acquired: Bool { held.withLock { $0 } }
    private let held = Mutex(false)
    private let link: HostLink

    init(name: String, link: HostLink) {
        self.name = name
        self.link = link
    }

    /// Tries to take the lock every `checkInterval` seconds until `timeout` passes (nil:
    /// forever). The lock expires after `ttl` seconds. True when taken.
    @discardableResult
    public func acquire(timeout: Double? = nil, checkInterval: Double = 1, ttl: Int = 60) throws -> Bool {
        let connection = try link.requireConnection()
        let acquire = try connection.function(\.lock_acquire, named: "lock_acquire")
        var taken: Int32 = 0
        try connection.call("lock_acquire") { host, error in
            acquire(host, name, timeout ?? -1, checkInterval, Int64(ttl), &taken, error)
        }
        if taken != 0 { held.withLock { $0 = true } }
        return taken != 0
    }

    /// Frees the lock when this object holds it; true when a lock was deleted.
    @discardableResult
    public func release() throws -> Bool {
        // Taken out under the mutex, so two threads releasing at once delete the key once.
        guard held.withLock({ held in defer { held = false }; return held }) else { return false }
        do {
            let connection = try link.requireConnection()
            let release = try connection.function(\.lock_release, named: "lock_release")
            var released: Int32 = 0
            try connection.call("lock_release") { host, error in release(host, name, &released, error) }
            return released != 0
        } catch {
            held.withLock { $0 = true }  // not released: this object still holds it
            throw error
        }
    }

    /// True when anyone holds the lock.
    public func isLocked() throws -> Bool {
        let connection = try link.requireConnection()
        let isLocked = try connection.function(\.lock_is_locked, named: "lock_is_locked")
        var locked: Int32 = 0
        try connection.call("lock_is_locked") { host, error in isLocked(host, name, &locked, error) }
        return locked != 0
    }

    /// Sets the lock's time to live; true when the lock exists.
    @discardableResult
    public func setTTL(_ ttl: Int) throws -> Bool {
        let connection = try link.requireConnection()
        let setTTL = try connection.function(\.lock_set_ttl, named: "lock_set_ttl")
        var wasSet: Int32 = 0
        try connection.call("lock_set_ttl") { host, error in setTTL(host, name, Int64(ttl), &wasSet, error) }
        return wasSet != 0
    }

    /// Seconds the lock has left; nil when free or without expiry.
    public func getTTL() throws -> Int? {
        let connection = try link.requireConnection()
        let getTTL = try connection.function(\.lock_get_ttl, named: "lock_get_ttl")
        var ttl: Int64 = -1
        try connection.call("lock_get_ttl") { host, error in getTTL(host, name, &ttl, error) }
        return ttl >= 0 ? Int(ttl) : nil
    }
}
