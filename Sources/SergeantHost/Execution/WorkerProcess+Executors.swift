#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

extension WorkerProcess {
    // MARK: Executors

    /// Runs tasks one after the other; nil marks a task not started (stop or respawn came
    /// first).
    func executeSerially(_ tasks: [PoppedTask]) -> [TaskOutcome?] {
        var results: [TaskOutcome?] = Array(repeating: nil, count: tasks.count)
        for (index, task) in tasks.enumerated() {
            if stop.isRequested { break }
            let outcome = dispatcher.execute(task)
            results[index] = outcome
            if outcome == .stop || outcome == .respawn { break }
        }
        return results
    }

    /// Runs tasks on up to `threads` threads at once (sergeant's threaded executor); a task
    /// that fails does not disturb the others.
    func executeConcurrently(_ tasks: [PoppedTask], threads: Int) -> [TaskOutcome?] {
        let batch = ConcurrentBatch(tasks: tasks, dispatcher: dispatcher, stop: stop)
        if executorThreads == nil { executorThreads = ExecutorThreads(count: threads) }
        executorThreads?.run(batch)
        return batch.results
    }
}

// MARK: - ConcurrentBatch

/// One batch shared by the threads of the threaded executor.
final class ConcurrentBatch: @unchecked Sendable {
    let tasks: [PoppedTask]
    let dispatcher: OutcomeDispatcher
    let stop: StopSignal
    private let lock = Mutex()
    private var next = 0
    private var halted = false
    private(set) var results: [TaskOutcome?]

    init(tasks: [PoppedTask], dispatcher: OutcomeDispatcher, stop: StopSignal) {
        self.tasks = tasks
        self.dispatcher = dispatcher
        self.stop = stop
        results = Array(repeating: nil, count: tasks.count)
    }

    /// Runs tasks until none is left or the batch halts (stop, respawn, SIGTERM).
    func drain() {
        while true {
            let index: Int? = lock.withLock {
                guard !halted, !stop.isRequested, next < tasks.count else { return nil }
                defer { next += 1 }
                return next
            }
            guard let index else { return }
            let outcome = dispatcher.execute(tasks[index])
            lock.withLock {
                results[index] = outcome
                if outcome == .stop || outcome == .respawn { halted = true }
            }
        }
    }
}
