import SergeantABI

// MARK: - WorkerInterrupt

/// Control flow thrown out of `work` or a handler, as Python sergeant's `WorkerRetry`,
/// `WorkerRequeue`, ... exceptions. ``Worker/retry(task:priority:consumableFrom:)`` and its
/// siblings throw these; the SDK returns the outcome each one wraps to the host as its
/// status code, never letting them unwind through C.
///
/// ```swift
/// do {
///     try checkTimeout()
/// } catch WorkerInterrupt.timeout {
///     cleanUp()
///     throw WorkerInterrupt.timeout
/// }
/// ```
public struct WorkerInterrupt: Error, Sendable, Equatable, CustomDebugStringConvertible {
    /// The outcome the call ends as.
    let outcome: TaskOutcome

    init(_ outcome: TaskOutcome) {
        self.outcome = outcome
    }

    /// The task was pushed again with run_count + 1.
    public static var retry: WorkerInterrupt { WorkerInterrupt(.retry) }
    /// The task already ran max_retries times; it was not pushed again.
    public static var maxRetries: WorkerInterrupt { WorkerInterrupt(.maxRetries) }
    /// The task was pushed again unchanged.
    public static var requeue: WorkerInterrupt { WorkerInterrupt(.requeue) }
    /// Stop every worker of the supervisor.
    public static var stop: WorkerInterrupt { WorkerInterrupt(.stop) }
    /// Replace this worker process with a fresh one.
    public static var respawn: WorkerInterrupt { WorkerInterrupt(.respawn) }
    /// The task ran past its timeout.
    public static var timeout: WorkerInterrupt { WorkerInterrupt(.timeout) }

    /// The outcome's case (`retry`, `maxRetries`, ...), as the interrupt prints.
    public var debugDescription: String { "\(outcome)" }

    /// Lets `catch WorkerInterrupt.timeout` match a thrown interrupt.
    public static func ~= (pattern: WorkerInterrupt, error: any Error) -> Bool {
        (error as? WorkerInterrupt) == pattern
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
