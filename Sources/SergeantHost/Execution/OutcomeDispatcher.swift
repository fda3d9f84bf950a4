import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

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
    /// Where the running task is shown to the heartbeat thread (``WorkerRecord/running``).
    var activity: WorkerActivity? = nil

    /// Runs the task; returns how it ended (stop and respawn end the worker's run).
    public func execute(_ task: PoppedTask) -> TaskOutcome {
        let bytes = task.messagePack
        let started = activity?.started(bytes)
        defer { if let started { activity?.finished(since: started) } }
        if timeouts.timeout > 0 {
            let now = MonotonicClock.now
            deadlines.set(.init(soft: now + timeouts.timeout, hard: now + timeouts.timeout + timeouts.gracePeriod,
                                task: bytes, stored: task.stored))
        }
        defer { if timeouts.timeout > 0 { deadlines.set(nil) } }
        report(worker.preWork(bytes), "pre_work")
        let result = worker.work(bytes)
        var outcome = result.outcome
        if outcome == .success && timeouts.timeout > 0 && deadlines.currentThreadIsPastDeadline() {
            // Finished, but late: sergeant reports the timeout, not a success.
            outcome = .timeout
        }
        let failure: String?
        switch outcome {
        case .success: failure = nil
        case .failure: failure = result.failureText
        default: failure = "\(outcome)"
        }
        report(worker.postWork(bytes, success: outcome == .success, exception: failure), "post_work")
        return handle(outcome, bytes, value: result.value, failure: failure ?? "")
    }

    /// Logs `outcome`, calls its handler and follows what the handler itself asks for (an
    /// on_failure that retries ends as a retry), as sergeant's handle_* methods do. `value`
    /// is what work returned (success), `failure` the failure text (failure).
    func handle(_ outcome: TaskOutcome, _ task: [UInt8], value: [UInt8] = [], failure: String = "") -> TaskOutcome {
        // Respawn has no handler and logs nothing: the process ends.
        guard let handler = outcome.handlerName else { return outcome }
        if let line = outcome.logLine, events.logs(outcome) {
            logger.log(level: line.level.loggerLevel,
                       outcome == .failure ? "\(line.text): \(failure)" : Logger.Message(stringLiteral: line.text))
        }
        switch outcome {
        case .stop:
            report(worker.handle(.stop, task), handler)
            return .stop
        case .retry:
            // As in Python sergeant, on_retry sees the task that was pushed again: run_count + 1.
            let retried = (try? SergeantTask(messagePack: task)).map { task -> [UInt8] in
                var task = task
                task.runCount += 1
                return task.messagePack()
            } ?? task
            return follow(worker.handle(.retry, retried), handler, retried, allowRedirect: false) ?? .retry
        case .maxRetries, .requeue:
            // The task has been pushed again (or given up): its handler cannot send it elsewhere.
            return follow(worker.handle(outcome, task), handler, task, allowRedirect: false) ?? outcome
        case .success, .failure, .timeout, .respawn:  // respawn: returned above
            return follow(worker.handle(outcome, task, value: value, failure: failure), handler, task) ?? outcome
        }
    }

    private func follow(_ result: PluginWorker.Result, _ handler: String, _ task: [UInt8],
                        allowRedirect: Bool = true) -> TaskOutcome? {
        let next = result.outcome
        switch next {
        case .success:
            return nil
        case .retry where allowRedirect, .maxRetries where allowRedirect, .requeue where allowRedirect:
            return handle(next, task)
        case .stop:
            return handle(.stop, task)
        case .respawn:
            return .respawn
        default:
            logger.error("\(handler) handler has failed: \(result.message)")
            return nil
        }
    }

    func report(_ result: PluginWorker.Result, _ handler: String) {
        if result.outcome != .success {
            logger.error("\(handler) has failed: \(result.failureText)")
        }
    }
}
