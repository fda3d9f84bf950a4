#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore

// MARK: - ChildExit

/// Exit codes a worker process reports to its supervisor.
public enum ChildExit: Int32, Sendable {
    /// Ran to its end of life (max_tasks_per_run): respawn.
    case finished = 0
    /// The plugin asked to be replaced: respawn.
    case respawn = 10
    /// The plugin asked every worker to stop.
    case stop = 11
    /// Stopped by SIGTERM/SIGINT after finishing its task.
    case terminated = 12
    /// The broker could not be reached or used.
    case brokerFailure = 13
    /// A task ran past its timeout plus the grace period; the worker ended itself and left
    /// the task for the next worker's on_timeout.
    case hardTimeout = 14
}


// MARK: - WorkerProcess

/// One worker process: loads the plugin, reads its configuration, and runs the pull ->
/// work -> handlers loop (sergeant's `work_loop` and `iterate_tasks`).
public final class WorkerProcess {
    /// Options that override the plugin's configuration.
    public struct Overrides: Sendable {
        /// Redis nodes replacing the configured connector.
        public var redisNodes: [RedisNode]?
        /// How long a dead Redis is retried before an operation fails (nil: the default).
        public var reconnectTimeout: Double?
        /// The logger of the broker's connections (nil: the worker's own logger).
        public var brokerLogger: Logger?

        /// Creates overrides.
        public init(redisNodes: [RedisNode]? = nil, reconnectTimeout: Double? = nil, brokerLogger: Logger? = nil) {
            self.redisNodes = redisNodes
            self.reconnectTimeout = reconnectTimeout
            self.brokerLogger = brokerLogger
        }
    }

    /// Loads the plugin and its configuration without starting anything (the producer CLI
    /// and the worker process share this).
    public static func load(modulePath: String, className: String, overrides: Overrides,
                            logger: Logger) throws(PluginError) -> (config: WorkerConfig, host: HostContext, worker: PluginWorker, module: PluginModule) {
        let module = try PluginModule(path: modulePath)
        // A first instance reads the configuration (generateConfig), as sergeant's
        // producer instantiates the worker class; the real host then serves it.
        let probe = HostContext(config: WorkerConfig(name: "sergeant"), broker: nil, logger: logger)
        var config = try module.makeWorker(className: className, host: probe).config()
        if let nodes = overrides.redisNodes { config.connector = .redis(nodes: nodes) }
        let workerLogger = Self.logger(for: config)
        let broker: Broker
        do {
            broker = try Broker(config: config, logger: overrides.brokerLogger ?? workerLogger,
                                reconnectTimeout: overrides.reconnectTimeout)
        } catch {
            throw PluginError(.invalidConfig, error.message)
        }
        let host = HostContext(config: config, broker: broker, logger: workerLogger)
        let worker = try module.makeWorker(className: className, host: host)
        return (config, host, worker, module)
    }

    /// The logger of a worker: sergeant's format, named after the worker, at its level.
    public static func logger(for config: WorkerConfig) -> Logger {
        var logger = Logger(label: config.name) { label in
            SergeantLogHandler(label: label, destination: config.logging.logToStdout ? .standardOutput : .standardError)
        }
        logger.logLevel = config.logging.level.loggerLevel
        return logger
    }

    /// Runs a worker process to its end and returns its exit code.
    public static func run(modulePath: String, className: String, overrides: Overrides) -> Int32 {
        let bootLogger = Logger(label: "sergeant-worker") { SergeantLogHandler(label: $0) }
        installStopHandlers()
        // A worker never outlives its supervisor: if the supervisor dies (even by SIGKILL),
        // the kernel ends its workers and their in-flight tasks are recovered.
        _ = sergeant_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { return ChildExit.terminated.rawValue }  // the supervisor died before that
        let loaded: (config: WorkerConfig, host: HostContext, worker: PluginWorker, module: PluginModule)
        do {
            loaded = try load(modulePath: modulePath, className: className, overrides: overrides, logger: bootLogger)
        } catch {
            bootLogger.critical("\(error.message)")
            return error.kind.rawValue
        }
        return WorkerProcess(config: loaded.config, host: loaded.host, worker: loaded.worker).run()
    }

    let config: WorkerConfig
    let host: HostContext
    let worker: PluginWorker
    let dispatcher: OutcomeDispatcher
    /// This process's name in in-flight records (SERGEANT_WORKER_ID from the supervisor).
    let workerID = Environment.value("SERGEANT_WORKER_ID") ?? "\(hostName())-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    /// The worker whose in-flight tasks this one takes over first (SERGEANT_RECOVER_ID).
    let predecessorID = Environment.value("SERGEANT_RECOVER_ID")
    /// The in-flight record pulls go to, nil for at-most-once.
    var inFlight: String? { config.atLeastOnce ? workerID : nil }
    var logger: Logger { host.logger }
    /// The threaded executor's threads, started with the first batch.
    private var executorThreads: ExecutorThreads?
    private var tasksDone = 0
    private var outcomes: [String: Int] = [:]

    init(config: WorkerConfig, host: HostContext, worker: PluginWorker) {
        self.config = config
        self.host = host
        self.worker = worker
        dispatcher = OutcomeDispatcher(worker: worker, events: config.logging.events, logger: host.logger,
                                       deadlines: host.deadlines, timeouts: config.timeouts)
    }

    // MARK: Work loop

    func run() -> Int32 {
        let started = unixTime()
        let cpuStarted = cpuTime()
        var exit = ChildExit.finished
        switch TaskOutcome(worker.initialize()) {
        case .success:
            startWatchdog()
            startHeartbeat()
            recoverInFlightTasks()
            exit = handleTimedOutTasks() ?? loop()
            if let broker = host.broker { acknowledge(broker: broker) }
        case .respawn:
            exit = .respawn
        case .stop:
            exit = .stop
        case .failure(let message):
            logger.error("initialize has failed: \(message)")
        default:
            break
        }
        switch TaskOutcome(worker.finalize()) {
        case .failure(let message): logger.error("finalize has failed: \(message)")
        case .stop: exit = .stop
        case .respawn where exit == .finished: exit = .respawn
        default: break
        }
        let wall = unixTime() - started
        let cpu = cpuTime() - cpuStarted
        let counts = outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let summary = "worker summary: tasks=\(tasksDone) \(counts) wall_time=\(format(wall))s cpu_time=\(format(cpu))s"
            + " cpu_utilization=\(format(wall > 0 ? cpu / wall : 0)) end=\(exit)"
        logger.info("\(summary)")
        return exit.rawValue
    }

    private func loop() -> ChildExit {
        let runForever = config.maxTasksPerRun == 0
        var tasksLeft = config.maxTasksPerRun
        var idleSince = unixTime()
        var starvationReported = 0.0
        var nextRecovery = unixTime() + Self.recoveryInterval
        guard let broker = host.broker else { return .brokerFailure }
        while runForever || tasksLeft > 0 {
            if stopRequested() { return .terminated }
            if config.atLeastOnce && unixTime() > nextRecovery {
                // Workers whose supervisor died too are found by their expired heartbeat.
                recoverInFlightTasks()
                nextRecovery = unixTime() + Self.recoveryInterval
            }
            let wanted = runForever ? config.tasksPerTransaction : min(config.tasksPerTransaction, tasksLeft)
            var popped: (tasks: [PoppedTask], rejected: [String])
            do {
                popped = try broker.pop(queue: config.name, count: wanted, inFlightFor: inFlight)
                if popped.tasks.isEmpty && popped.rejected.isEmpty {
                    // Idle: block on the broker (up to a second, so that delayed tasks,
                    // starvation and signals are still looked at) instead of polling.
                    popped = try broker.wait(queue: config.name, timeout: Self.idleWait, inFlightFor: inFlight)
                }
            } catch {
                logger.error("could not pull tasks: \(error.message)")
                pause(seconds: 1)
                continue
            }
            for reason in popped.rejected {
                logger.error("a task could not be decoded and was set aside in \(KeySpace(queue: config.name).dead): \(reason)")
            }
            if popped.tasks.isEmpty {
                if !popped.rejected.isEmpty { acknowledge(broker: broker) }
                if popped.rejected.isEmpty {
                    let idle = unixTime() - idleSince
                    if let starvation = config.starvation, idle - starvationReported >= starvation.timeWithNoTasks {
                        starvationReported = idle
                        if config.logging.events.onStarvation { logger.warning("worker is starving") }
                        if case .failure(let message) = TaskOutcome(worker.onStarvation(idle)) {
                            logger.error("on_starvation handler has failed: \(message)")
                        }
                    }
                }
                continue
            }
            idleSince = unixTime()
            starvationReported = 0
            let results = config.numberOfThreads > 1
                ? executeConcurrently(popped.tasks, threads: config.numberOfThreads)
                : executeSerially(popped.tasks)
            let unstarted = zip(popped.tasks, results).filter { $0.1 == nil }.map(\.0)
            if !unstarted.isEmpty {
                giveBack(unstarted, broker: broker)
                acknowledge(broker: broker)
            }
            // Otherwise the next pop acknowledges this batch in the same round trip.
            for outcome in results.compactMap({ $0 }) {
                tasksDone += 1
                outcomes[outcome.name, default: 0] += 1
            }
            // A stop that answers our own SIGTERM ends this worker only.
            if results.contains(.stop) { return stopRequested() ? .terminated : .stop }
            if results.contains(.respawn) { return .respawn }
            if stopRequested() { return .terminated }
            if !runForever { tasksLeft -= popped.tasks.count }
        }
        return .finished
    }

    // MARK: Executors

    /// Runs tasks one after the other; nil marks a task not started (stop or respawn came
    /// first).
    func executeSerially(_ tasks: [PoppedTask]) -> [TaskOutcome?] {
        var results: [TaskOutcome?] = Array(repeating: nil, count: tasks.count)
        for (index, task) in tasks.enumerated() {
            if stopRequested() { break }
            let outcome = dispatcher.execute(task)
            results[index] = outcome
            if outcome == .stop || outcome == .respawn { break }
        }
        return results
    }

    /// Runs tasks on up to `threads` threads at once (sergeant's threaded executor); a task
    /// that fails does not disturb the others.
    func executeConcurrently(_ tasks: [PoppedTask], threads: Int) -> [TaskOutcome?] {
        let batch = ConcurrentBatch(tasks: tasks, dispatcher: dispatcher)
        if executorThreads == nil { executorThreads = ExecutorThreads(count: threads) }
        executorThreads?.run(batch)
        return batch.results
    }

    // MARK: Timeouts

    /// A thread that ends this process when a task ignores its timeout past the grace
    /// period, after leaving the task in `NAME.timedout` for the next worker's on_timeout.
    private func startWatchdog() {
        guard config.timeouts.timeout > 0 else { return }
        let deadlines = host.deadlines
        let config = config
        let logger = logger
        let interval = min(0.05, config.timeouts.timeout / 4)
        let inFlight = inFlight
        WorkerThread.detach {
            while true {
                pause(seconds: interval)
                let overdue = deadlines.overdue(at: unixTime())
                guard !overdue.isEmpty else { continue }
                logger.error("task exceeded its timeout of \(config.timeouts.timeout) s plus the grace period of \(config.timeouts.gracePeriod) s; ending this worker, the next one runs its on_timeout")
                do {
                    // A connection of its own: the stuck task may hold the worker's.
                    let broker = try Broker(config: config, logger: logger)
                    try broker.setTimedOut(overdue.map(\.task), queue: config.name)
                    // Its on_timeout outcome now stands for it: it must not come back as in flight.
                    if let inFlight {
                        for entry in overdue { try broker.forget(stored: entry.stored, queue: config.name, worker: inFlight) }
                    }
                } catch {
                    logger.critical("could not record the timed out task: \(error)")
                }
                _exit(ChildExit.hardTimeout.rawValue)
            }
        }
    }

    // MARK: At-least-once

    /// Longest a blocking wait for a task lasts before the loop looks around.
    static let idleWait = 1.0

    /// Seconds between scans for workers whose heartbeat expired.
    static let recoveryInterval = 10.0

    /// Tasks are done (or given back): clear this worker's in-flight record.
    private func acknowledge(broker: Broker) {
        guard let inFlight else { return }
        do { try broker.acknowledge(queue: config.name, worker: inFlight) } catch {
            logger.error("could not acknowledge finished tasks (they may run again): \(error.message)")
        }
    }

    /// Returns the in-flight tasks of the worker this one replaces, and of any worker whose
    /// heartbeat expired, to the queue; repeat offenders go to `NAME.dead`.
    private func recoverInFlightTasks() {
        guard config.atLeastOnce, let broker = host.broker else { return }
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
    /// so a long task does not make it look dead.
    private func startHeartbeat() {
        guard config.atLeastOnce else { return }
        let config = config
        let logger = logger
        let workerID = workerID
        WorkerThread.detach {
            // The first heartbeat went with the first pop (Broker.pop); this thread renews it.
            // Its connection's reconnect warnings are the main thread's too: only its own
            // failures are logged here.
            var quiet = logger
            quiet.logLevel = .critical
            var broker: Broker?
            while true {
                pause(seconds: Broker.heartbeatInterval)
                do throws(BrokerError) {
                    if broker == nil { broker = try Broker(config: config, logger: quiet) }
                    try broker?.heartbeat(queue: config.name, worker: workerID)
                } catch {
                    logger.warning("heartbeat failed (retrying in \(Int(Broker.heartbeatInterval)) s): \(error.message)")
                }
            }
        }
    }

    /// Runs the on_timeout outcome of tasks a previous worker was ended over.
    private func handleTimedOutTasks() -> ChildExit? {
        guard let broker = host.broker else { return nil }
        let tasks: [[UInt8]]
        do {
            tasks = try broker.takeTimedOut(queue: config.name, count: 1000)
        } catch {
            logger.error("could not read timed out tasks: \(error.message)")
            return nil
        }
        for task in tasks {
            let outcome = dispatcher.handle(.timeout, task)
            outcomes[TaskOutcome.timeout.name, default: 0] += 1
            if outcome == .stop { return .stop }
            if outcome == .respawn { return .respawn }
        }
        return nil
    }

    /// Puts tasks pulled but not started back at the head of the queue, in order (sergeant
    /// pushes them back with HIGH priority).
    private func giveBack(_ tasks: [PoppedTask], broker: Broker) {
        guard !tasks.isEmpty else { return }
        do {
            try broker.push(encodedTasks: tasks.reversed().map(\.messagePack), queue: config.name, priority: .high)
        } catch {
            logger.critical("could not return \(tasks.count) unstarted tasks to the queue: \(error.message)")
        }
    }

    private func format(_ value: Double) -> String {
        String(Double(Int(value * 1000)) / 1000)
    }
}

extension TaskOutcome {
    /// Short name used in summaries.
    var name: String {
        switch self {
        case .success: return "success"
        case .failure: return "failure"
        case .timeout: return "timeout"
        case .retry: return "retry"
        case .maxRetries: return "max_retries"
        case .requeue: return "requeue"
        case .stop: return "stop"
        case .respawn: return "respawn"
        }
    }
}

// MARK: - ConcurrentBatch

/// One batch shared by the threads of the threaded executor.
final class ConcurrentBatch: @unchecked Sendable {
    let tasks: [PoppedTask]
    let dispatcher: OutcomeDispatcher
    private let lock = Mutex()
    private var next = 0
    private var halted = false
    private(set) var results: [TaskOutcome?]

    init(tasks: [PoppedTask], dispatcher: OutcomeDispatcher) {
        self.tasks = tasks
        self.dispatcher = dispatcher
        results = Array(repeating: nil, count: tasks.count)
    }

    /// Runs tasks until none is left or the batch halts (stop, respawn, SIGTERM).
    func drain() {
        while true {
            let index: Int? = lock.withLock {
                guard !halted, !stopRequested(), next < tasks.count else { return nil }
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

// MARK: - WorkerThread

/// Threads of a worker process: the watchdog, the heartbeat and the executor's threads.
enum WorkerThread {
    /// Starts a thread nobody waits for; it runs `body` and ends.
    static func detach(_ body: @escaping @Sendable () -> Void) {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&thread, nil, { argument in
            let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        pthread_detach(thread)
    }

    private final class Box {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
}

/// This machine's host name.
func hostName() -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

// MARK: - Signals and clocks

nonisolated(unsafe) private var stopSignalReceived: sig_atomic_t = 0

/// SIGTERM and SIGINT ask the worker to stop after the task in progress.
func installStopHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in stopSignalReceived = 1 }
    signal(SIGTERM, handler)
    signal(SIGINT, handler)
}

/// True once SIGTERM or SIGINT arrived.
public func stopRequested() -> Bool { stopSignalReceived != 0 }

/// CPU time used by this process, in seconds.
func cpuTime() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
}
