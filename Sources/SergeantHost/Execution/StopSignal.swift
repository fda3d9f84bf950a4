#if canImport(Glibc)
import Glibc
#endif
import Synchronization

nonisolated(unsafe) private var stopSignalReceived: sig_atomic_t = 0

// MARK: - StopSignal

/// "Stop after the task in progress": SIGTERM or SIGINT to a worker process, or a request in
/// code. Passed to whatever must look at it (the work loop, the executors, the plugin's
/// `should_stop`), never read from a global by them.
///
/// ```swift
/// let stop = StopSignal.installingHandlers()   // a worker process: follows SIGTERM/SIGINT
/// let manual = StopSignal()                    // a test: stopped by `request()` only
/// manual.request()
/// manual.isRequested                           // true
/// ```
public final class StopSignal: Sendable {
    private let requested = Atomic<Bool>(false)
    private let followsSignals: Bool

    /// A signal that only ``request()`` sets.
    public init() {
        followsSignals = false
    }

    private init(followingSignals: Void) {
        followsSignals = true
    }

    /// Installs handlers for SIGTERM and SIGINT and returns a signal that they set.
    public static func installingHandlers() -> StopSignal {
        let handler: @convention(c) (Int32) -> Void = { _ in stopSignalReceived = 1 }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        return StopSignal(followingSignals: ())
    }

    /// Asks for the stop.
    public func request() {
        requested.store(true, ordering: .relaxed)
    }

    /// True once the stop was asked for.
    public var isRequested: Bool {
        requested.load(ordering: .relaxed) || (followsSignals && stopSignalReceived != 0)
    }
}
