#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

extension WorkerProcess {
    // MARK: At-least-once

    /// Longest a blocking wait for a task lasts before the loop looks around.
    static let idleWait = 1.0

    /// Seconds between scans for workers whose heartbeat expired.
    static let recoveryInterval = 10.0

    /// Tasks are done (or given back): clear this worker's in-flight record.
    func acknowledge(broker: Broker) {
        guard let inFlight else { return }
        do { try broker.acknowledge(queue: config.name, worker: inFlight) } catch {
            logger.error("could not acknowledge finished tasks (they may run again): \(error.message)")
        }
    }

    /// Returns the in-flight tasks of the worker this one replaces, and of any worker whose
    /// heartbeat expired, to the queue; repeat offenders go to `NAME.dead`.
    func recoverInFlightTasks() {
        guard config.atLeastOnce else { return }
        let broker = host.broker
        do {
            let (requeued, dead) = try broker.recover(queue: config.name, deadWorker: predecessorID, claimant: workerID,
                                                      maxDeaths: config.maxDeaths)
            if requeued > 0 { logger.warning("returned \(requeued) task(s) a dead worker had in flight to the queue") }
            if dead > 0 {
                logger.error("set \(dead) poison task(s) aside in \(KeySpace(queue: config.name).dead): each was in flight when its worker died \(config.maxDeaths) times")
            }
        } catch {
            logger.error("could not recover in-flight tasks of dead workers: \(error.message)")
        }
    }

    /// Keeps this worker's heartbeat alive from a thread of its own, with its own connection,
    /// so a long task does not make it look dead; with it, publishes the worker's record
    /// (``WorkerRecord``) at once and at every heartbeat, for `sergeant stats`.
    func startHeartbeat() {
        let fleet = host.broker.capabilities.contains(.fleetRecords)
        guard config.atLeastOnce || fleet else { return }
        let config = config
        let logger = logger
        let workerID = workerID
        let reconnectTimeout = reconnectTimeout
        let activity = activity
        let startedAt = startedAt
        let executor = config.numberOfThreads > 1 ? "threaded(\(config.numberOfThreads))" : "serial"
        let host = hostName()
        let pid = Int(getpid())
        WorkerThread.detach {
            // The first heartbeat went with the first pop (Broker.pop); this thread renews it.
            // Its connection's reconnect warnings are the main thread's too: only its own
            // failures are logged here.
            var quiet = logger
            quiet.logLevel = .critical
            var broker: Broker?
            var first = true
            while true {
                if !first { pause(seconds: Broker.heartbeatInterval) }
                first = false
                do throws(BrokerError) {
                    if broker == nil { broker = try Broker(config: config, logger: quiet, reconnectTimeout: reconnectTimeout) }
                    if config.atLeastOnce { try broker?.heartbeat(queue: config.name, worker: workerID) }
                    if fleet {
                        let (done, running) = activity.current()
                        try broker?.publish(WorkerRecord(
                            worker: workerID, hostName: host, pid: pid, queue: config.name, executor: executor,
                            startedAt: startedAt, updatedAt: unixTime(), tasksDone: done,
                            residentBytes: residentBytes(of: getpid()) ?? 0, running: running))
                    }
                } catch {
                    logger.warning("heartbeat failed (retrying in \(Int(Broker.heartbeatInterval)) s): \(error.message)")
                }
            }
        }
    }

    /// Sends the counts of the last batch, which no pop carried (the run ends).
    func flushCounts() {
        do { try host.broker.flushCounts() } catch {
            logger.error("could not send the last outcome counts: \(error.message)")
        }
    }

    /// Runs the on_timeout outcome of tasks a previous worker was ended over.
    func handleTimedOutTasks() -> WorkerExitCode? {
        let broker = host.broker
        let tasks: [[UInt8]]
        do {
            tasks = try broker.takeTimedOut(queue: config.name, count: 1000)
        } catch {
            logger.error("could not read timed out tasks: \(error.message)")
            return nil
        }
        var counts = OutcomeCounts()
        defer { broker.record(counts, queue: config.name) }
        for task in tasks {
            let outcome = dispatcher.handle(.timeout, task)
            outcomes[TaskOutcome.timeout.name, default: 0] += 1
            counts.add(.timeout)
            if outcome == .stop { return .stop }
            if outcome == .respawn { return .respawn }
        }
        return nil
    }

    /// Puts tasks pulled but not started back at the head of the queue, in order (sergeant
    /// pushes them back with HIGH priority).
    func giveBack(_ tasks: [PoppedTask], broker: Broker) {
        guard !tasks.isEmpty else { return }
        do {
            try broker.push(encodedTasks: tasks.reversed().map(\.messagePack), queue: config.name, priority: .high)
        } catch {
            logger.critical("could not return \(tasks.count) unstarted tasks to the queue: \(error.message)")
        }
    }
}
