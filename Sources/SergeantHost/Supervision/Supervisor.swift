#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import Logging
import SergeantCore
import SergeantPluginLoader

// MARK: - Supervisor

/// `sergeant-host`'s supervisor: spawns the worker processes, reaps and respawns them (with a
/// ``RespawnBackoff`` when they fail), enforces the memory limit, replaces them one at a time
/// on SIGHUP (Supervisor+RollingRestart.swift) and stops them all on SIGTERM/SIGINT. It never
/// loads the plugin itself, so no user code runs in it.
public final class Supervisor {
    /// What the supervisor needs to know.
    public struct Options: Sendable {
        /// The program worker processes run (``Supervisor/workerExecutable(besides:)``).
        public var workerExecutable: String
        /// What every worker process is told; each gets its own ``WorkerLaunch/workerID``.
        public var launch: WorkerLaunch
        /// Number of worker processes.
        public var concurrentWorkers: Int
        /// RSS in bytes above which a worker is replaced; nil for no limit.
        public var maxWorkerMemoryUsage: Int?
        /// Seconds a worker has to finish after SIGTERM before it is killed.
        public var gracePeriod: Double
        /// How long a failed worker's replacement waits.
        public var backoff: RespawnBackoff
        /// Where the supervisor's metrics go (``SupervisorMetrics``); swift-metrics' no-op by default.
        public var metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance

        /// Creates options.
        public init(workerExecutable: String, launch: WorkerLaunch, concurrentWorkers: Int,
                    maxWorkerMemoryUsage: Int? = nil, gracePeriod: Double = 10, backoff: RespawnBackoff = RespawnBackoff()) {
            self.workerExecutable = workerExecutable
            self.launch = launch
            self.concurrentWorkers = concurrentWorkers
            self.maxWorkerMemoryUsage = maxWorkerMemoryUsage
            self.gracePeriod = gracePeriod
            self.backoff = backoff
        }
    }

    struct Child {
        var id: String
        /// The worker whose in-flight tasks it takes over.
        var predecessor: String?
        var started: Double
        var killAt: Double?
        /// Replaced over its memory use: its `terminated` end is expected, and it is respawned.
        var replacing = false
        /// Replaced by a rolling restart: its successor already runs, so it is not respawned.
        var retiring = false
        /// Consecutive failures of this worker slot, carried to each replacement.
        var failures = 0
        /// It sent ``WorkerReadiness/signal``.
        var ready = false
    }

    /// A replacement waiting out its backoff.
    struct PendingRespawn {
        var due: Double
        var predecessor: String
        var failures: Int
    }

    let options: Options
    let logger: Logger
    var children: [pid_t: Child] = [:]
    var pendingRespawns: [PendingRespawn] = []
    var rollingRestart: RollingRestart?
    var stopping = false
    /// A worker has been ready once: the module at the path was good, so a worker that later
    /// cannot load it (a deploy in progress, a broken file) is retried instead of stopping all.
    private var moduleWasGood = false
    private var exitCode = WorkerExitCode.finished
    private var spawned = 0
    private let nonce = "\(hostName())-\(getpid())"
    private var metrics: SupervisorMetrics

    /// Creates a supervisor.
    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
        metrics = SupervisorMetrics(factory: options.metricsFactory)
    }

    /// Runs until every worker has stopped; returns the process exit code.
    public func run() -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGCHLD, SIGTERM, SIGINT, SIGHUP, WorkerReadiness.signal] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        logger.info("supervisor starting \(options.concurrentWorkers) worker(s)")
        for _ in 0..<options.concurrentWorkers where !stopping { spawn() }
        while !children.isEmpty || rollingRestart?.checker != nil || (!stopping && !pendingRespawns.isEmpty) {
            var info = siginfo_t()
            let seconds = nextWait()
            var wait = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
            let received = sigtimedwait(&signals, &info, &wait)
            switch received {
            case SIGTERM, SIGINT:
                if !stopping { logger.info("supervisor received signal \(received), stopping the workers") }
                beginStop(.finished)
            case SIGHUP:
                requestRollingRestart()
            case WorkerReadiness.signal:
                workerIsReady(info._sifields._kill.si_pid)
            default:
                break
            }
            reap()
            respawnDue()
            enforceLimits()
            advanceRollingRestart()
            metrics.sample(children.keys)
        }
        logger.info("supervisor has stopped")
        return exitCode.rawValue
    }

    /// Seconds until the loop must look around: at most 0.2, less when a respawn is due sooner.
    private func nextWait() -> Double {
        let now = MonotonicClock.now
        let due = pendingRespawns.map(\.due).min().map { max($0 - now, 0.001) } ?? 0.2
        return min(due, 0.2)
    }

    // MARK: Children

    /// Failures in a row of a slot after which its workers crash without a Swift backtrace.
    static let backtracedFailures = 3

    /// Starts a worker; `predecessor` is the id of the worker it replaces, whose in-flight
    /// tasks it returns to the queue before pulling any; `failures` is its slot's count.
    @discardableResult
    func spawn(replacing predecessor: String? = nil, failures: Int = 0) -> pid_t? {
        spawned += 1
        let id = "\(nonce)-\(spawned)"
        var launch = options.launch
        launch.workerID = id
        launch.predecessorID = predecessor
        launch.readySignal = WorkerReadiness.signal
        launch.crashBacktraces = failures < Self.backtracedFailures
        let pid: pid_t
        do {
            pid = try start(launch)
        } catch {
            logger.critical("cannot start a worker process: \(error.reason)")
            beginStop(.spawnFailed)
            return nil
        }
        children[pid] = Child(id: id, predecessor: predecessor, started: MonotonicClock.now, failures: failures)
        logger.info("spawned worker \(pid)")
        return pid
    }

    /// Starts `sergeant-worker` with `launch`.
    func start(_ launch: WorkerLaunch) throws(SpawnError) -> pid_t {
        var spawner = ProcessSpawner(launch.arguments(executable: options.workerExecutable),
                                     environment: launch.environment(inheriting: ProcessSpawner.currentEnvironment(overriding: [])))
        // The supervisor blocks these to wait for them; a worker starts with them unblocked and default.
        spawner.defaultSignals = [SIGCHLD, SIGTERM, SIGINT, SIGPIPE, SIGHUP, WorkerReadiness.signal]
        return try spawner.spawn()
    }

    private func reap() {
        // Readiness first: a worker that became ready and then died is seen as ready.
        var readiness = sigset_t()
        sigemptyset(&readiness)
        sigaddset(&readiness, WorkerReadiness.signal)
        var info = siginfo_t()
        var now = timespec(tv_sec: 0, tv_nsec: 0)
        while sigtimedwait(&readiness, &info, &now) == WorkerReadiness.signal { workerIsReady(info._sifields._kill.si_pid) }
        reapChecker()
        for pid in Array(children.keys) {
            guard let status = ExitStatus.reap(pid) else { continue }
            let child = children.removeValue(forKey: pid)!
            handleExit(pid: pid, status: status, child: child)
        }
    }

    private func workerIsReady(_ pid: pid_t) {
        guard children[pid] != nil else { return }
        children[pid]?.ready = true
        moduleWasGood = true
        rollingWorkerIsReady(pid)
    }

    /// Logs how a worker ended and does what ``WorkerExitCode/supervisorResponse`` says.
    private func handleExit(pid: pid_t, status: ExitStatus, child: Child) {
        let lived = MonotonicClock.now - child.started
        if stopping || child.retiring {
            logger.info("worker \(pid) has stopped")
            if child.retiring { rollingOldWorkerEnded(pid) }
            return
        }
        let exit = status.signal == nil ? WorkerExitCode(rawValue: status.code) : nil
        var response = exit?.supervisorResponse ?? .respawnAfterFailure
        if case .stopAll(let code) = response, code != .finished, moduleWasGood {
            // A bad deploy at start stops the host; one under running workers must not.
            logger.critical("""
                worker \(pid) could not load \(options.launch.modulePath) (reason above), which loaded before (a deploy \
                in progress?); the other workers go on and this one is retried. Deploy by renaming the complete file over the path
                """, metadata: ["worker_pid": "\(pid)", "module": "\(options.launch.modulePath)", "exit_code": "\(status.code)"])
            response = .respawnAfterFailure
        } else if let signal = status.signal {
            logger.error("worker \(pid) was killed by signal \(signal); respawning")
        } else if let report = exit?.supervisorReport {
            logger.log(level: report.level, "worker \(pid) \(report.text)")
        } else if !(exit == .terminated && child.replacing) {
            // Replaced over its memory use, it ends as told; otherwise someone else ended it.
            logger.error("worker \(pid) ended abnormally with exit code \(status.code); respawning")
        }
        if case .stopAll(let code) = response {
            beginStop(code)
            return
        }
        // A rolling restart whose new worker died before it was ready keeps the old one and
        // does not respawn the extra worker; an old one that ended is replaced by the new one.
        guard !rollingWorkerEnded(pid, ready: child.ready) else { return }
        let failed = response == .respawnAfterFailure
        let failures = failed ? child.failures + 1 : child.failures
        let delay = failed ? options.backoff.delay(afterFailures: failures) : 0
        if failed && failures == Self.backtracedFailures {
            logger.warning("""
                worker slot failed \(failures) times in a row: its next workers crash without a Swift backtrace (the first \
                ones are above) until one runs \(format(options.backoff.resetAfter)) s; set SWIFT_BACKTRACE to choose yourself
                """, metadata: ["worker_pid": "\(pid)", "failures": "\(failures)"])
        }
        if delay > 0 {
            // Metadata for log shippers; the message says it to a human.
            logger.warning(
                "worker slot failed \(failures) time(s) in a row, each worker within \(format(options.backoff.resetAfter)) s of its start; respawning in \(format(delay)) s",
                metadata: ["worker_pid": "\(pid)", "failures": "\(failures)", "respawn_delay": "\(format(delay))",
                           "lived": "\(format(lived))", "end": "\(status.signal.map { "signal \($0)" } ?? "exit code \(status.code)")"])
        }
        // A worker that died before it was ready pulled nothing and recovered nothing: its
        // successor takes over what its own predecessor left.
        let heir = child.ready ? child.id : child.predecessor ?? child.id
        metrics.restarted()
        pendingRespawns.append(PendingRespawn(due: MonotonicClock.now + delay, predecessor: heir, failures: failures))
        respawnDue()
    }

    /// Starts the replacements whose backoff is over.
    private func respawnDue() {
        guard !stopping else {
            pendingRespawns.removeAll()
            return
        }
        let now = MonotonicClock.now
        let due = pendingRespawns.filter { $0.due <= now }
        pendingRespawns.removeAll { $0.due <= now }
        for respawn in due where !stopping { spawn(replacing: respawn.predecessor, failures: respawn.failures) }
    }

    func beginStop(_ code: WorkerExitCode) {
        if !stopping { exitCode = code }
        stopping = true
        pendingRespawns.removeAll()
        cancelRollingRestart()
        let deadline = MonotonicClock.now + options.gracePeriod
        for (pid, child) in children where child.killAt == nil {
            kill(pid, SIGTERM)
            children[pid]?.killAt = deadline
        }
    }

    /// Asks `pid` to stop (SIGTERM) and kills it if it has not after the grace period.
    func terminate(_ pid: pid_t) {
        guard children[pid]?.killAt == nil else { return }
        kill(pid, SIGTERM)
        children[pid]?.killAt = MonotonicClock.now + options.gracePeriod
    }

    private func enforceLimits() {
        let now = MonotonicClock.now
        for (pid, child) in children {
            if let killAt = child.killAt, now > killAt {
                logger.error("worker \(pid) did not stop within \(Int(options.gracePeriod)) s; killing it")
                kill(pid, SIGKILL)
                children[pid]?.killAt = .infinity
                continue
            }
            if child.failures > 0 && now - child.started >= options.backoff.resetAfter {
                children[pid]?.failures = 0
                logger.info("worker \(pid) has run for \(format(options.backoff.resetAfter)) s: its slot's respawn backoff is reset",
                            metadata: ["worker_pid": "\(pid)", "failures": "\(child.failures)"])
            }
            guard let limit = options.maxWorkerMemoryUsage, child.killAt == nil, let rss = residentBytes(of: pid), rss > limit else { continue }
            logger.error("worker \(pid) uses \(rss) bytes of memory, over the limit of \(limit); replacing it")
            terminate(pid)
            children[pid]?.replacing = true
        }
    }

    func format(_ seconds: Double) -> String {
        String(Double((seconds * 1000).rounded()) / 1000)
    }
}

// MARK: - Worker executable

extension Supervisor {
    /// The program worker processes run: `sergeant-worker`, installed beside `sergeant-host`.
    public static let workerExecutableName = "sergeant-worker"

    /// `sergeant-worker` in the directory of `hostPath` (by default the running executable,
    /// symbolic links resolved). Throws a message naming the path when it is missing or not
    /// executable.
    public static func workerExecutable(besides hostPath: String = Environment.executablePath()) throws(MissingWorkerExecutable) -> String {
        let directory = hostPath.lastIndex(of: "/").map { String(hostPath[..<$0]) } ?? "."
        let path = directory + "/" + workerExecutableName
        guard access(path, X_OK) == 0 else { throw MissingWorkerExecutable(path: path) }
        return path
    }
}

/// `sergeant-worker` is not beside `sergeant-host`.
public struct MissingWorkerExecutable: Error, CustomStringConvertible {
    /// Where it was looked for.
    public let path: String

    /// The path and what to do.
    public var description: String {
        "the worker executable \(path) is missing or not executable: worker processes run it, and it must be installed"
            + " beside sergeant-host (`swift build` builds both)"
    }
}

// MARK: - Helpers

/// Resident memory of a process from `/proc/PID/statm`, in bytes.
public func residentBytes(of pid: pid_t) -> Int? {
    guard let file = fopen("/proc/\(pid)/statm", "r") else { return nil }
    defer { fclose(file) }
    var size = 0
    var resident = 0
    guard fscanf_statm(file, &size, &resident) else { return nil }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE)))
}

private func fscanf_statm(_ file: UnsafeMutablePointer<FILE>, _ size: inout Int, _ resident: inout Int) -> Bool {
    var line = [CChar](repeating: 0, count: 256)
    guard fgets(&line, Int32(line.count), file) != nil else { return false }
    let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    let fields = text.split(separator: " ")
    guard fields.count >= 2, let total = Int(fields[0]), let rss = Int(fields[1]) else { return false }
    size = total
    resident = rss
    return true
}
