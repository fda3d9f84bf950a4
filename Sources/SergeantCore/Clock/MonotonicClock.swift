#if canImport(Glibc)
import Glibc
#endif

// MARK: - MonotonicClock

/// Seconds on a clock that only moves forward (CLOCK_MONOTONIC): for deadlines, timeouts,
/// backoff and intervals, which a step of the wall clock (NTP, an operator) must not fire or
/// suppress. Wall time (``unixTime()``) is only for timestamps that are stored: task dates,
/// delayed-task scores, dead-letter dates.
///
/// ```swift
/// let deadline = MonotonicClock.now + 30
/// while MonotonicClock.now < deadline { ... }
/// ```
package enum MonotonicClock {
    /// Seconds since an arbitrary point (boot), never going back.
    package static var now: Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
