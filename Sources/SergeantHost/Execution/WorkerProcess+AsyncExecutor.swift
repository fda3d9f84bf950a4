import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

extension WorkerProcess {
    // MARK: Async executor

    /// Longest the async executor waits for a completion before it looks at signals, its
    /// tasks' timeouts and (when it has room) the queue again.
    static let asyncPollInterval = 0.1

    /// The async executor's limit for `config`: max_concurrent_tasks when the plugin can run
    /// tasks asynchronously (`work_async`, ABI 1.2), otherwise nil, said at start.
    static func asyncLimit(config: WorkerConfig, worker: PluginWorker, logger: Logger) -> Int? {
        guard config.maxConcurrentTasks > 0 else { return nil }
        guard worker.supportsAsyncWork else {
            logger.warning("""
                max_concurrent_tasks is \(config.maxConcurrentTasks) but this plugin has no work_async (plugin ABI 1.2): \
                its tasks run on number_of_threads (\(config.numberOfThreads)) thread(s) instead
                """, metadata: ["queue": "\(config.name)"])
            return nil
        }
        return config.maxConcurrentTasks
    }

    /// One task the plugin is running.
    struct RunningTask {
        let task: PoppedTask
        let handle: sergeant_async_handle
        /// Past this (monotonic seconds) it is cancelled as timed out; infinity without a timeout.
        let softDeadline: Double
        var cancelled: OutcomeDispatcher.CancelReason?
    }

    /// The async executor: keeps up to `limit` tasks running in the plugin (`work_async`),
    /// pulls more as they end (batches of tasks_per_transaction) and acknowledges each task
    /// when it ends. A task past its timeout is cancelled; after SIGTERM running tasks get the
    /// grace period, then are cancelled (on_stop runs for each), and pulled tasks not started
    /// go back to the queue. On a connector whose in-flight records cannot take tasks one by
    /// one, it pulls again only when everything it pulled is done.
    func asyncLoop(limit: Int) -> WorkerExitCode {
        let broker = host.broker
        let completions = AsyncCompletions()
        let eachTask = broker.acknowledgesEachTask
        let timeouts = config.timeouts
        let runForever = config.maxTasksPerRun == 0
        var tasksLeft = config.maxTasksPerRun
        var running: [Int: RunningTask] = [:]
        var nextID = 0
        var ending: WorkerExitCode?
        var stopAt: Double?
        var waitUntil = 0.0
        var idleSince = MonotonicClock.now
        var starvationReported = 0.0
        var nextRecovery = MonotonicClock.now + Self.recoveryInterval
        var done: [[UInt8]] = []
        // A task recovered from a dead worker runs alone (a poison task must not take its
        // neighbours with it); while recovered tasks wait, the running ones are finished first.
        var solo = false
        var drain = false

        func record(_ outcome: TaskOutcome, of task: PoppedTask) {
            tasksDone += 1
            outcomes[outcome.name, default: 0] += 1
            done.append(task.stored)
            // The fleet counters go out ahead of the next round trip (the task's own
            // acknowledgement or the next pop).
            var counts = OutcomeCounts()
            counts.add(outcome)
            host.broker.record(counts, queue: config.name)
            // A stop that answers our own SIGTERM ends this worker only.
            if outcome == .stop { ending = stop.isRequested ? .terminated : .stop }
            if outcome == .respawn && ending == nil { ending = .respawn }
        }

        func start(_ task: PoppedTask) {
            let id = nextID
            nextID += 1
            dispatcher.begin(task)
            let now = MonotonicClock.now
            let soft = timeouts.timeout > 0 ? now + timeouts.timeout : .infinity
            if timeouts.timeout > 0 {
                host.deadlines.set(.init(soft: soft, hard: soft + timeouts.gracePeriod, task: task.messagePack, stored: task.stored),
                                   asyncTask: id)
            }
            switch worker.startWork(task.messagePack, completion: { result in completions.push(id, result) }) {
            case .started(let handle):
                running[id] = RunningTask(task: task, handle: handle, softDeadline: soft)
            case .failed(let result):
                if timeouts.timeout > 0 { host.deadlines.set(nil, asyncTask: id) }
                record(dispatcher.finish(task, result: result, cancelled: nil, late: false), of: task)
            }
        }

        var acknowledgementFailed = false
        func acknowledgeDone() {
            guard let inFlight, !done.isEmpty, eachTask else {
                done = []
                return
            }
            do {
                try broker.forget(stored: done, queue: config.name, worker: inFlight)
                done = []
                acknowledgementFailed = false
            } catch {
                // Kept and tried again each round: a live worker's in-flight list is never
                // recovered, so a finished task left in it would stay there.
                if !acknowledgementFailed {
                    logger.error("could not acknowledge \(done.count) finished task(s) (trying again): \(error.message)")
                }
                acknowledgementFailed = true
            }
        }

        while true {
            // Tasks that ended: post_work, their handler, and one acknowledgement for them all.
            for (id, result) in completions.take(waitingUntil: waitUntil) {
                guard let entry = running.removeValue(forKey: id) else { continue }
                if timeouts.timeout > 0 { host.deadlines.set(nil, asyncTask: id) }
                let late = MonotonicClock.now > entry.softDeadline
                record(dispatcher.finish(entry.task, result: result, cancelled: entry.cancelled, late: late), of: entry.task)
            }
            let now = MonotonicClock.now
            if stop.isRequested && ending == nil { ending = .terminated }
            if ending == .terminated || ending == .stop, stopAt == nil { stopAt = now + timeouts.gracePeriod }
            for (id, entry) in running where entry.cancelled == nil {
                let reason: OutcomeDispatcher.CancelReason? = now > entry.softDeadline ? .timeout
                    : (stopAt.map { now >= $0 } ?? false) ? .stop : nil
                guard let reason else { continue }
                running[id]?.cancelled = reason
                worker.cancel(entry.handle)
            }
            // Acknowledged before the next pull: a blocking wait reads the whole in-flight list.
            acknowledgeDone()
            let exhausted = !runForever && tasksLeft == 0
            var more = false
            if running.isEmpty { solo = false }
            if ending == nil && !exhausted && running.count < limit && (eachTask || running.isEmpty) && !solo
                && (!drain || running.isEmpty) {
                if config.atLeastOnce && now > nextRecovery {
                    recoverInFlightTasks()
                    nextRecovery = now + Self.recoveryInterval
                }
                let wanted = min(config.tasksPerTransaction, limit - running.count, runForever ? Int.max : tasksLeft)
                var popped: (tasks: [PoppedTask], rejected: [String]) = ([], [])
                do {
                    let added = try broker.popAdding(queue: config.name, count: wanted, inFlightFor: inFlight,
                                                     alone: running.isEmpty)
                    popped = (added.tasks, added.rejected)
                    solo = added.recovered
                    drain = added.recoveredWaiting
                    if popped.tasks.isEmpty && popped.rejected.isEmpty && running.isEmpty && !drain && done.isEmpty {
                        // Idle: block on the broker as the other executors do.
                        popped = try broker.wait(queue: config.name, timeout: Self.idleWait, inFlightFor: inFlight)
                    }
                } catch {
                    logger.error("could not pull tasks: \(error.message)")
                    if running.isEmpty { pause(seconds: 1) }
                }
                for reason in popped.rejected {
                    logger.error("a task could not be decoded and was set aside in \(KeySpace(queue: config.name).dead): \(reason)")
                }
                if popped.tasks.isEmpty && popped.rejected.isEmpty && running.isEmpty {
                    let idle = MonotonicClock.now - idleSince
                    if let starvation = config.starvation, idle - starvationReported >= starvation.timeWithNoTasks {
                        starvationReported = idle
                        if config.logging.events.onStarvation { logger.warning("worker is starving") }
                        let starved = worker.onStarvation(idle)
                        if starved.outcome == .failure { logger.error("on_starvation handler has failed: \(starved.failureText)") }
                    }
                }
                if !popped.tasks.isEmpty {
                    idleSince = MonotonicClock.now
                    starvationReported = 0
                }
                var unstarted: [PoppedTask] = []
                for task in popped.tasks {
                    if stop.isRequested || ending != nil {
                        unstarted.append(task)
                        continue
                    }
                    if !runForever { tasksLeft -= 1 }
                    start(task)
                }
                if !unstarted.isEmpty {
                    giveBack(unstarted, broker: broker)
                    done += unstarted.map(\.stored)
                }
                // Tasks that failed to start and the unstarted ones.
                acknowledgeDone()
                more = popped.tasks.count == wanted && unstarted.isEmpty && !solo
            }
            if running.isEmpty && (ending != nil || (!runForever && tasksLeft == 0)) { return ending ?? .finished }
            if let stopAt, MonotonicClock.now > stopAt + timeouts.gracePeriod, running.values.allSatisfy({ $0.cancelled != nil }) {
                logger.error("\(running.count) task(s) ignored their cancellation for \(timeouts.gracePeriod) s; they stay in flight for the next worker to recover")
                return ending ?? .terminated
            }
            // Wait for a completion, at most until the next timeout, the end of the grace
            // period or the poll interval; not at all when the queue may hold more for free room.
            let later = MonotonicClock.now
            var next = more && running.count < limit ? later : later + Self.asyncPollInterval
            for entry in running.values where entry.cancelled == nil { next = min(next, entry.softDeadline) }
            if let stopAt, stopAt > later { next = min(next, stopAt) }
            waitUntil = next
        }
    }
}
