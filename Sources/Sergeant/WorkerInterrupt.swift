import SergeantABI

// MARK: - WorkerInterrupt

/// Control flow thrown out of `work` or a handler, as Python sergeant's `WorkerRetry`,
/// `WorkerRequeue`, ... exceptions. ``Worker/retry(task:priority:consumableFrom:)`` and its
/// siblings throw these; the SDK turns them into ABI status codes, never letting them
/// unwind through C.
public enum WorkerInterrupt: Error, Sendable, Equatable {
    /// The task was pushed again with run_count + 1.
    case retry
    /// The task already ran max_retries times; it was not pushed again.
    case maxRetries
    /// The task was pushed again unchanged.
    case requeue
    /// Stop every worker of the supervisor.
    case stop
    /// Replace this worker process with a fresh one.
    case respawn
    /// The task ran past its timeout.
    case timeout

    /// The ABI status this interrupt crosses the boundary as.
    var status: PluginStatus {
        switch self {
        case .retry: return .retry
        case .maxRetries: return .maxRetries
        case .requeue: return .requeue
        case .stop: return .stop
        case .respawn: return .respawn
        case .timeout: return .timeout
        }
    }
}

// MARK: - WorkerError

/// An error from the host or the broker (a push that could not be stored, a dead Redis).
public struct WorkerError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public let message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
