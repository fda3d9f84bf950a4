#if canImport(Glibc)
import Glibc
#endif
import CLinux
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

// MARK: - WorkerProcess

/// One worker process: loads the plugin, reads its configuration, and runs the pull ->
/// work -> handlers loop (sergeant's `work_loop` and `iterate_tasks`).
public final class WorkerProcess {
    /// Options that override the plugin's configuration.
    public struct Overrides: Sendable {
        /// Redis nodes replacing the configured connector.
        public var redisNodes: [RedisNode]?
        /// How long a dead Redis is retried before an operation fails.
        public var reconnectTimeout: Double
        /// The log format replacing the configured one.
        public var logFormat: LogFormat?

        /// Creates overrides.
        public init(redisNodes: [RedisNode]? = nil, reconnectTimeout: Double = 30, logFormat: LogFormat? = nil) {
            self.redisNodes = redisNodes
            self.reconnectTimeout = reconnectTimeout
            self.logFormat = logFormat
        }
    }

    /// Loads the plugin, reads its configuration once (with a ``ConfigurationHost``), opens the
    /// broker it names and creates the worker on a host that has that broker.
    public static func load(modulePath: String, className: String, overrides: Overrides,
                            logger: Logger, stop: StopSignal = StopSignal()) throws(PluginError) -> (config: WorkerConfig, host: HostContext, worker: PluginWorker, module: PluginModule) {
        let module = try PluginModule(path: modulePath)
        var config = try module.configuration(of: className, logger: logger)
        if let nodes = overrides.redisNodes { config.connector = .redis(nodes: nodes) }
        if let format = overrides.logFormat { config.logging.format = format }
        let workerLogger = Self.logger(for: config)
        let broker: Broker
        do {
            broker = try Broker(config: config, logger: workerLogger, reconnectTimeout: overrides.reconnectTimeout)
        } catch {
            throw PluginError(.invalidConfig, error.message)
        }
        if config.atLeastOnce && !broker.capabilities.contains(.inFlightRecords) {
            // Said at every start on a connector without in-flight records: never a silent
            // downgrade.
            workerLogger.warning("""
                the \(config.connector.type) connector keeps no in-flight records: tasks are delivered at most once \
                (a worker that dies mid-task loses its task); set at_least_once: false to silence this, or use redis
                """, metadata: ["queue": "\(config.name)", "connector": "\(config.connector.type)"])
        }
        let host = HostContext(config: config, broker: broker, logger: workerLogger, stop: stop)
        let worker = try module.makeWorker(className: className, host: host)
        return (config, host, worker, module)
    }

    /// The logger of a worker: sergeant's format, named after the worker, at its level.
    public static func logger(for config: WorkerConfig) -> Logger {
        var logger = Logger(label: config.name) { label in
            SergeantLogHandler(label: label, destination: config.logging.logToStdout ? .standardOutput : .standardError,
                               format: config.logging.format)
        }
        logger.logLevel = config.logging.level.loggerLevel
        return logger
    }

    /// Runs the worker process `launch` describes to its end and returns its exit code.
    public static func run(_ launch: WorkerLaunch) -> Int32 {
        let bootLogger = Logger(label: "sergeant-worker") { SergeantLogHandler(label: $0, format: launch.logFormat ?? .sergeant) }
        let stop = StopSignal.installingHandlers()
        let overrides: Overrides
        do {
            overrides = Overrides(redisNodes: try launch.redisNodes(), reconnectTimeout: launch.reconnectTimeout ?? 30,
                                  logFormat: launch.logFormat)
        } catch {
            bootLogger.critical("\(error)")
            return WorkerExitCode.invalidConfig.rawValue
        }
        // A worker never outlives its supervisor: if the supervisor dies (even by SIGKILL),
        // the kernel ends its workers and their in-flight tasks are recovered.
        _ = sergeant_set_parent_death_signal(SIGKILL)
        if getppid() == 1 { return WorkerExitCode.terminated.rawValue }  // the supervisor died before that
        let loaded: (config: WorkerConfig, host: HostContext, worker: PluginWorker, module: PluginModule)
        do {
            loaded = try load(modulePath: launch.modulePath, className: launch.className, overrides: overrides,
                              logger: bootLogger, stop: stop)
        } catch {
            bootLogger.critical("\(error.message)")
            return error.kind.rawValue
        }
        let workerID = launch.workerID ?? "\(hostName())-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        return WorkerProcess(config: loaded.config, host: loaded.host, worker: loaded.worker, stop: stop,
                             workerID: workerID, predecessorID: launch.predecessorID,
                             reconnectTimeout: overrides.reconnectTimeout, readySignal: launch.readySignal).run()
    }

    let config: WorkerConfig
    let host: HostContext
    let worker: PluginWorker
    let dispatcher: OutcomeDispatcher
    /// SIGTERM/SIGINT: stop after the task in progress.
    let stop: StopSignal
    /// This process's name in in-flight records (``WorkerLaunch/workerID``).
    let workerID: String
    /// The worker whose in-flight tasks this one takes over first (``WorkerLaunch/predecessorID``).
    let predecessorID: String?
    /// Seconds a dead Redis is retried, for the connections of the heartbeat and the watchdog too.
    let reconnectTimeout: Double
    /// Sent to the supervisor once `initialize` succeeded (``WorkerReadiness``).
    let readySignal: Int32?
    /// The in-flight record pulls go to, nil for at-most-once.
    var inFlight: String? { config.atLeastOnce ? workerID : nil }
    var logger: Logger { host.logger }
    /// The threaded executor's threads, started with the first batch.
    var executorThreads: ExecutorThreads?
    /// Tasks the async executor keeps running at once; nil: the serial or threaded executor.
    let asyncLimit: Int?
    var tasksDone = 0
    /// The running task and the runs done, for the record the heartbeat publishes.
    let activity = WorkerActivity()
    /// Unix time this worker started.
    let startedAt = unixTime()
    var outcomes: [String: Int] = [:]

    init(config: WorkerConfig, host: HostContext, worker: PluginWorker, stop: StopSignal, workerID: String, predecessorID: String?,
         reconnectTimeout: Double, readySignal: Int32? = nil) {
        self.reconnectTimeout = reconnectTimeout
        self.readySignal = readySignal
        self.config = config
        self.host = host
        self.worker = worker
        self.stop = stop
        self.workerID = workerID
        self.predecessorID = predecessorID
        asyncLimit = Self.asyncLimit(config: config, worker: worker, logger: host.logger)
        dispatcher = OutcomeDispatcher(worker: worker, events: config.logging.events, logger: host.logger,
                                       deadlines: host.deadlines, timeouts: config.timeouts, activity: activity)
    }

    // MARK: Work loop

    func run() -> Int32 {
        let started = MonotonicClock.now
        let cpuStarted = cpuTime()
        var exit = WorkerExitCode.finished
        let initialized = worker.initialize()
        switch initialized.outcome {
        case .success:
            WorkerReadiness.announce(readySignal)
            startWatchdog()
            startHeartbeat()
            recoverInFlightTasks()
            if let limit = asyncLimit {
                exit = handleTimedOutTasks() ?? asyncLoop(limit: limit)
                // Each task was acknowledged when it ended; what is left in flight (a pop whose
                // reply was lost) is the next worker's to recover, not to be dropped here.
                if !host.broker.acknowledgesEachTask { acknowledge(broker: host.broker) }
            } else {
                exit = handleTimedOutTasks() ?? loop()
                acknowledge(broker: host.broker)
            }
            flushCounts()
        case .respawn:
            exit = .respawn
        case .stop:
            exit = .stop
        case .failure:
            logger.error("initialize has failed: \(initialized.failureText)")
        default:
            break
        }
        let finalized = worker.finalize()
        switch finalized.outcome {
        case .failure: logger.error("finalize has failed: \(finalized.failureText)")
        case .stop: exit = .stop
        case .respawn where exit == .finished: exit = .respawn
        default: break
        }
        let wall = MonotonicClock.now - started
        let cpu = cpuTime() - cpuStarted
        let counts = outcomes.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let summary = "worker summary: tasks=\(tasksDone) \(counts) wall_time=\(format(wall))s cpu_time=\(format(cpu))s"
            + " cpu_utilization=\(format(wall > 0 ? cpu / wall : 0)) end=\(exit)"
        logger.info("\(summary)")
        return exit.rawValue
    }

    private func loop() -> WorkerExitCode {
        let runForever = config.maxTasksPerRun == 0
        var tasksLeft = config.maxTasksPerRun
        var idleSince = MonotonicClock.now
        var starvationReported = 0.0
        var nextRecovery = MonotonicClock.now + Self.recoveryInterval
        let broker = host.broker
        while runForever || tasksLeft > 0 {
            if stop.isRequested { return .terminated }
            if config.atLeastOnce && MonotonicClock.now > nextRecovery {
                // Workers whose supervisor died too are found by their expired heartbeat.
                recoverInFlightTasks()
                nextRecovery = MonotonicClock.now + Self.recoveryInterval
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
                    let idle = MonotonicClock.now - idleSince
                    if let starvation = config.starvation, idle - starvationReported >= starvation.timeWithNoTasks {
                        starvationReported = idle
                        if config.logging.events.onStarvation { logger.warning("worker is starving") }
                        let starved = worker.onStarvation(idle)
                        if starved.outcome == .failure {
                            logger.error("on_starvation handler has failed: \(starved.failureText)")
                        }
                    }
                }
                continue
            }
            idleSince = MonotonicClock.now
            starvationReported = 0
            let results = config.numberOfThreads > 1
                ? executeConcurrently(popped.tasks, threads: config.numberOfThreads)
                : executeSerially(popped.tasks)
            // The next pop acknowledges this batch in the same round trip (unless some tasks
            // are given back below), and carries the batch's counts in the same write.
            var counts = OutcomeCounts()
            for outcome in results.compactMap({ $0 }) {
                tasksDone += 1
                outcomes[outcome.name, default: 0] += 1
                counts.add(outcome)
            }
            activity.takeDurations(into: &counts)
            broker.record(counts, queue: config.name)
            // Counted before any acknowledgement: the counts ride ahead of it, in its write.
            let unstarted = zip(popped.tasks, results).filter { $0.1 == nil }.map(\.0)
            if !unstarted.isEmpty {
                giveBack(unstarted, broker: broker)
                acknowledge(broker: broker)
            }
            // A stop that answers our own SIGTERM ends this worker only.
            if results.contains(.stop) { return stop.isRequested ? .terminated : .stop }
            if results.contains(.respawn) { return .respawn }
            if stop.isRequested { return .terminated }
            if !runForever { tasksLeft -= popped.tasks.count }
        }
        return .finished
    }

    private func format(_ value: Double) -> String {
        String(Double(Int(value * 1000)) / 1000)
    }
}
