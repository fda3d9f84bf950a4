import SergeantCore

// MARK: - TaskOutcome

/// How a call into a worker ended: the one outcome vocabulary of both sides of the ABI.
///
/// Each outcome is its `sergeant_status` code (`sergeant_plugin.h`), the name worker
/// summaries count it under, the handler the host calls for it and the line sergeant logs
/// for it. The host reads plugin statuses as outcomes (``init(status:)``), the SDK's
/// control flow (`WorkerInterrupt`) crosses the boundary as one, and the dispatcher and the
/// summaries speak only this type, so a new outcome is added here, once.
///
/// ```swift
/// let outcome = TaskOutcome(status: SERGEANT_MAX_RETRIES)  // .maxRetries
/// outcome.name         // "max_retries", as the worker summary counts it
/// outcome.handlerName  // "on_max_retries"
/// outcome.logLine      // (.error, "task has reached max retries")
/// outcome.status       // SERGEANT_MAX_RETRIES, as the SDK returns it to the host
/// ```
public enum TaskOutcome: Int32, Sendable, CaseIterable {
    /// `work` returned (SERGEANT_OK; also the status of every host function that worked).
    case success = 0
    /// `work` threw (SERGEANT_FAILURE); the message the plugin wrote is the error.
    case failure = 1
    /// The task was pushed again with run_count + 1 (SERGEANT_RETRY).
    case retry = 2
    /// The task already ran max_retries times and was not pushed again (SERGEANT_MAX_RETRIES).
    case maxRetries = 3
    /// The task was pushed again unchanged (SERGEANT_REQUEUE).
    case requeue = 4
    /// The worker asked every worker of its supervisor to stop (SERGEANT_STOP).
    case stop = 5
    /// The worker asked for its process to be replaced (SERGEANT_RESPAWN).
    case respawn = 6
    /// The task ran past its timeout (SERGEANT_TIMEOUT).
    case timeout = 7

    /// The outcome of a status read from the other side. Codes that are no outcome
    /// (SERGEANT_CLASS_NOT_FOUND, SERGEANT_ABI_MISMATCH, SERGEANT_INVALID) and unknown codes
    /// read as ``failure``.
    @inlinable
    public init(status: sergeant_status) {
        self = TaskOutcome(rawValue: status) ?? .failure
    }

    /// The status code this outcome crosses the ABI as.
    @inlinable
    public var status: sergeant_status { rawValue }

    /// The name worker summaries count the outcome under (`success`, `max_retries`, ...).
    public var name: String { vocabulary.name }

    /// The plugin handler the host calls for the outcome (`on_success`, ...); respawn has none.
    public var handlerName: String? { vocabulary.handler }

    /// The line sergeant logs when a task ends so, when ``LoggingEvents/logs(_:)`` lets it
    /// (a failure appends `: ` and its message); respawn logs nothing.
    public var logLine: (level: LogLevel, text: String)? { vocabulary.log }

    /// The failure text of a call: the message the other side wrote, or `status NAME` when it
    /// wrote none (NAME as the status reads in Swift: `failure`, `invalid`, ...).
    public static func failureText(_ message: String, status: sergeant_status) -> String {
        message.isEmpty ? "status \(statusName(status))" : message
    }

    // MARK: The vocabulary

    /// Everything said about an outcome, one row a case.
    private var vocabulary: (name: String, handler: String?, log: (level: LogLevel, text: String)?) {
        switch self {
        case .success: return ("success", "on_success", (.info, "task has finished successfully"))
        case .failure: return ("failure", "on_failure", (.error, "task has failed"))
        case .retry: return ("retry", "on_retry", (.info, "task has retried"))
        case .maxRetries: return ("max_retries", "on_max_retries", (.error, "task has reached max retries"))
        case .requeue: return ("requeue", "on_requeue", (.info, "task has requeued"))
        case .stop: return ("stop", "on_stop", (.info, "worker has stopped"))
        case .respawn: return ("respawn", nil, nil)
        case .timeout: return ("timeout", "on_timeout", (.error, "task has timedout"))
        }
    }

    /// How a status code reads in a failure text: the Swift name of its outcome, or of the
    /// code of `sergeant_worker_create` or of a bad argument it is.
    private static func statusName(_ status: sergeant_status) -> String {
        switch status {
        case SERGEANT_CLASS_NOT_FOUND: return "classNotFound"
        case SERGEANT_ABI_MISMATCH: return "abiMismatch"
        case SERGEANT_INVALID: return "invalid"
        case SERGEANT_OK: return "ok"
        default: return "\(TaskOutcome(status: status))"
        }
    }
}

// MARK: - LoggingEvents

extension LoggingEvents {
    /// True when the configuration logs ``TaskOutcome/logLine`` of `outcome`.
    ///
    /// ```swift
    /// LoggingEvents().logs(.success)  // false: sergeant logs no success by default
    /// ```
    @inlinable
    public func logs(_ outcome: TaskOutcome) -> Bool {
        switch outcome {
        case .success: return onSuccess
        case .failure: return onFailure
        case .retry: return onRetry
        case .maxRetries: return onMaxRetries
        case .requeue: return onRequeue
        case .stop: return onStop
        case .respawn: return false
        case .timeout: return onTimeout
        }
    }
}
