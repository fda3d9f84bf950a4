#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

extension WorkerProcess {
    // MARK: Timeouts

    /// A thread that ends this process when a task ignores its timeout past the grace
    /// period, after leaving the task in `NAME.timedout` for the next worker's on_timeout.
    func startWatchdog() {
        guard config.timeouts.timeout > 0 else { return }
        let deadlines = host.deadlines
        let config = config
        let logger = logger
        let interval = min(0.05, config.timeouts.timeout / 4)
        let inFlight = inFlight
        let reconnectTimeout = reconnectTimeout
        WorkerThread.detach {
            while true {
                pause(seconds: interval)
                let overdue = deadlines.overdue(at: MonotonicClock.now)
                guard !overdue.isEmpty else { continue }
                logger.error("task exceeded its timeout of \(config.timeouts.timeout) s plus the grace period of \(config.timeouts.gracePeriod) s; ending this worker, the next one runs its on_timeout")
                do {
                    // A connection of its own: the stuck task may hold the worker's.
                    let broker = try Broker(config: config, logger: logger, reconnectTimeout: reconnectTimeout)
                    try broker.setTimedOut(overdue.map(\.task), queue: config.name)
                    // Its on_timeout outcome now stands for it: it must not come back as in flight.
                    if let inFlight {
                        for entry in overdue { try broker.forget(stored: entry.stored, queue: config.name, worker: inFlight) }
                    }
                } catch {
                    logger.critical("could not record the timed out task: \(error)")
                }
                _exit(WorkerExitCode.hardTimeout.rawValue)
            }
        }
    }
}
