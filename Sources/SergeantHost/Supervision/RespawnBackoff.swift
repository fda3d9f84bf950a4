// MARK: - RespawnBackoff

/// How long the supervisor waits before it replaces a worker that failed (a signal such as a
/// segfault in plugin code, or an abnormal exit code), so that a crash storm (a plugin that
/// crashes at start, a run of poison tasks) cannot spin the machine.
///
/// Each worker slot counts its consecutive failures; the n-th one waits
/// `initialDelay * 2^(n-1)` seconds, at most ``maxDelay``. A worker that has run for
/// ``resetAfter`` seconds resets its slot's count, so a crash after a long healthy life waits
/// only ``initialDelay``. The supervisor never gives up: a production supervisor keeps trying,
/// at worst once every ``maxDelay`` seconds per slot.
///
/// ```swift
/// let backoff = RespawnBackoff(initialDelay: 0.1, maxDelay: 2, resetAfter: 10)
/// backoff.delay(afterFailures: 1)   // 0.1
/// backoff.delay(afterFailures: 4)   // 0.8
/// backoff.delay(afterFailures: 9)   // 2.0
/// ```
public struct RespawnBackoff: Sendable, Equatable {
    /// Seconds before the first respawn of a failure series.
    public var initialDelay: Double
    /// The longest wait, however many failures in a row.
    public var maxDelay: Double
    /// Seconds a worker must run for its slot's failure count to go back to zero.
    public var resetAfter: Double

    /// Creates a backoff; the defaults suit a production host (at most one respawn every two
    /// seconds per worker slot in a crash storm).
    public init(initialDelay: Double = 0.1, maxDelay: Double = 2, resetAfter: Double = 10) {
        self.initialDelay = initialDelay
        self.maxDelay = max(maxDelay, 0)
        self.resetAfter = resetAfter
    }

    /// Seconds to wait before respawning after `failures` consecutive failures (0 for none).
    public func delay(afterFailures failures: Int) -> Double {
        guard failures > 0 else { return 0 }
        var delay = initialDelay
        for _ in 1..<min(failures, 64) where delay < maxDelay { delay *= 2 }
        return min(delay, maxDelay)
    }
}
