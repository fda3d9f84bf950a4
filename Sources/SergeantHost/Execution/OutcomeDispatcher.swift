import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

// MARK: - TaskOutcome

/// How one task ended, as the host saw it.
public enum TaskOutcome: Sendable, Equatable {
    /// `work` returned.
    case success
    /// `work` threw; the message is the error.
    case failure(String)
    /// The task was past its timeout.
    case timeout
    /// The task was retried.
    case retry
    /// The task reached max_retries.
    case maxRetries
    /// The task was requeued.
    case requeue
    /// The worker asked every worker to stop.
    case stop
    /// The worker asked to be replaced.
    case respawn

    init(_ result: PluginWorker.Result) {
        switch result.status {
        case .ok: self = .success
        case .retry: self = .retry
        case .maxRetries: self = .maxRetries
        case .requeue: self = .requeue
        case .stop: self = .stop
        case .respawn: self = .respawn
        case .timeout: self = .timeout
        default: self = .failure(result.message.isEmpty ? "status \(result.status)" : result.message)
        }
    }
}

// MARK: - OutcomeDispatcher

/// Runs one task through pre_work, work, post_work and the handler of its outcome, with
/// sergeant's log lines. Every executor goes through this one place, so the serial and the
/// threaded executor behave alike.
public struct OutcomeDispatcher: Sendable {
    let worker: PluginWorker
    let events: LoggingEvents
    let logger: Logger
    let deadlines: DeadlineBoard
    let timeouts: Timeouts

    /// Runs the task; returns how it ended (stop and respawn end the worker's run).
    public func execute(_ task: PoppedTask) -> TaskOutcome {
        let bytes = task.messagePack
        if timeouts.timeout > 0 {
            let now = MonotonicClock.now
            deadlines.set(.init(soft: now + timeouts.timeout, hard: now + timeouts.timeout + timeouts.gracePeriod,
                                task: bytes, stored: task.stored))
        }
        defer { if timeouts.timeout > 0 { deadlines.set(nil) } }
        report(worker.preWork(bytes), "pre_work")
        let result = worker.work(bytes)
        var outcome = TaskOutcome(result)
        if outcome == .success && timeouts.timeout > 0 && deadlines.currentThreadIsPastDeadline() {
            // Finished, but late: sergeant reports the timeout, not a success.
            outcome = .timeout
        }
        let failure: String? = {
            switch outcome {
            case .success: return nil
            case .failure(let message): return message
            default: return "\(outcome)"
            }
        }()
        report(worker.postWork(bytes, success: outcome == .success, exception: failure), "post_work")
        return handle(outcome, bytes, value: result.value)
    }

    /// Calls the handler of `outcome` and follows what the handler itself asks for (an
    /// on_failure that retries ends as a retry), as sergeant's handle_* methods do.
    func handle(_ outcome: TaskOutcome, _ task: [UInt8], value: [UInt8] = [0xc0]) -> TaskOutcome {
        switch outcome {
        case .success:
            if events.onSuccess { logger.info("task has finished successfully") }
            return follow(worker.onSuccess(task, value: value), "on_success", task) ?? .success
        case .failure(let message):
            if events.onFailure { logger.error("task has failed: \(message)") }
            return follow(worker.onFailure(task, exception: message), "on_failure", task) ?? outcome
        case .timeout:
            if events.onTimeout { logger.error("task has timedout") }
            return follow(worker.on(.timeout, task), "on_timeout", task) ?? .timeout
        case .retry:
            if events.onRetry { logger.info("task has retried") }
            // As in Python sergeant, on_retry sees the task that was pushed again: run_count + 1.
            let retried = (try? SergeantTask(messagePack: task)).map { task -> [UInt8] in
                var task = task
                task.runCount += 1
                return task.messagePack()
            } ?? task
            return follow(worker.on(.retry, retried), "on_retry", retried, allowRedirect: false) ?? .retry
        case .maxRetries:
            if events.onMaxRetries { logger.error("task has reached max retries") }
            return follow(worker.on(.maxRetries, task), "on_max_retries", task, allowRedirect: false) ?? .maxRetries
        case .requeue:
            if events.onRequeue { logger.info("task has requeued") }
            return follow(worker.on(.requeue, task), "on_requeue", task, allowRedirect: false) ?? .requeue
        case .stop:
            if events.onStop { logger.info("worker has stopped") }
            report(worker.on(.stop, task), "on_stop")
            return .stop
        case .respawn:
            return .respawn
        }
    }

    private func follow(_ result: PluginWorker.Result, _ handler: String, _ task: [UInt8],
                        allowRedirect: Bool = true) -> TaskOutcome? {
        switch result.status {
        case .ok:
            return nil
        case .retry where allowRedirect:
            return handle(.retry, task)
        case .maxRetries where allowRedirect:
            return handle(.maxRetries, task)
        case .requeue where allowRedirect:
            return handle(.requeue, task)
        case .stop:
            return handle(.stop, task)
        case .respawn:
            return .respawn
        default:
            logger.error("\(handler) handler has failed: \(result.message)")
            return nil
        }
    }

    private func report(_ result: PluginWorker.Result, _ handler: String) {
        if result.status != .ok {
            logger.error("\(handler) has failed: \(result.message.isEmpty ? "status \(result.status)" : result.message)")
        }
    }
}
