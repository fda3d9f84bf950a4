import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

// MARK: - Async tasks

extension OutcomeDispatcher {
    /// Why the async executor cancelled a task.
    enum CancelReason: Sendable {
        /// It ran past its timeout: it ends as a timeout whatever it returns.
        case timeout
        /// The worker is stopping (SIGTERM, grace period over): unless it still succeeded, it
        /// ends as a stop and on_stop runs for it.
        case stop
    }

    /// The first half of ``execute(_:)`` for a task that runs asynchronously: pre_work.
    func begin(_ task: PoppedTask) {
        report(worker.preWork(task.messagePack), "pre_work")
    }

    /// The second half, once `result` came back: post_work and the outcome's handler, as for
    /// a synchronous task. A task `late` (past its timeout) or cancelled for its timeout is a
    /// timeout; one cancelled for a stop that did not succeed is a stop.
    func finish(_ task: PoppedTask, result: PluginWorker.Result, cancelled: CancelReason?, late: Bool) -> TaskOutcome {
        let bytes = task.messagePack
        var outcome = result.outcome
        if late || cancelled == .timeout {
            outcome = .timeout
        } else if cancelled == .stop && outcome != .success {
            outcome = .stop
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
}
