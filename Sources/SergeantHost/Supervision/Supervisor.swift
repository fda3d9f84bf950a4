#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import Logging
import SergeantCore
import SergeantPluginLoader

// MARK: - Supervisor

/// `sergeant-host`'s supervisor: spawns the worker processes, reaps and respawns them,
/// enforces the memory limit and stops them all on SIGTERM/SIGINT. It never loads the
/// plugin itself, so no user code runs in it.
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
        /// Where the supervisor's metrics go (``SupervisorMetrics``); swift-metrics' no-op by default.
        public var metricsFactory: any MetricsFactory = NOOPMetricsHandler.instance

        /// Creates options.
        public init(workerExecutable: String, launch: WorkerLaunch, concurrentWorkers: Int,
                    maxWorkerMemoryUsage: Int? = nil, gracePeriod: Double = 10) {
            self.workerExecutable = workerExecutable
            self.launch = launch
            self.concurrentWorkers = concurrentWorkers
            self.maxWorkerMemoryUsage = maxWorkerMemoryUsage
            self.gracePeriod = gracePeriod
        }
    }

    private struct Child {
        var id: String
        var started: Double
        var killAt: Double?
        var replacing = false
    }

    private let options: Options
    private let logger: Logger
    private var children: [pid_t: Child] = [:]
    private var stopping = false
    private var exitCode = WorkerExitCode.finished
    private var quickFailures = 0
    /// Consecutive deaths within a second of starting after which the supervisor gives up.
    static let maxQuickFailures = 5
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
        for signal in [SIGCHLD, SIGTERM, SIGINT] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        logger.info("supervisor starting \(options.concurrentWorkers) worker(s)")
        for _ in 0..<options.concurrentWorkers where !stopping { spawn() }
        while !children.isEmpty {
            var info = siginfo_t()
            var wait = timespec(tv_sec: 0, tv_nsec: 200_000_000)
            let received = sigtimedwait(&signals, &info, &wait)
            if received == SIGTERM || received == SIGINT {
                if !stopping { logger.info("supervisor received signal \(received), stopping the workers") }
                beginStop(.finished)
            }
            reap()
            enforceLimits()
            metrics.sample(children.keys)
        }
        logger.info("supervisor has stopped")
        return exitCode.rawValue
    }

    // MARK: Children

    /// Starts a worker; `predecessor` is the id of the worker it replaces, whose in-flight
    /// tasks it returns to the queue before pulling any.
    private func spawn(replacing predecessor: String? = nil) {
        spawned += 1
        let id = "\(nonce)-\(spawned)"
        var launch = options.launch
        launch.workerID = id
        launch.predecessorID = predecessor
        var spawner = ProcessSpawner(launch.arguments(executable: options.workerExecutable),
                                     environment: launch.environment(inheriting: ProcessSpawner.currentEnvironment(overriding: [])))
        // The supervisor blocks these to wait for them; a worker starts with them unblocked and default.
        spawner.defaultSignals = [SIGCHLD, SIGTERM, SIGINT, SIGPIPE]
        let pid: pid_t
        do {
            pid = try spawner.spawn()
        } catch {
            logger.critical("cannot start a worker process: \(error.reason)")
            beginStop(.spawnFailed)
            return
        }
        children[pid] = Child(id: id, started: MonotonicClock.now)
        logger.info("spawned worker \(pid)")
    }

    private func reap() {
        for pid in Array(children.keys) {
            guard let status = ExitStatus.reap(pid) else { continue }
            let child = children.removeValue(forKey: pid)!
            handleExit(pid: pid, status: status, child: child)
        }
    }

    /// Logs how a worker ended and does what ``WorkerExitCode/supervisorResponse`` says.
    private func handleExit(pid: pid_t, status: ExitStatus, child: Child) {
        let lived = MonotonicClock.now - child.started
        if stopping {
            logger.info("worker \(pid) has stopped")
            return
        }
        let exit = status.signal == nil ? WorkerExitCode(rawValue: status.code) : nil
        if let signal = status.signal {
            logger.error("worker \(pid) was killed by signal \(signal); respawning")
        } else if let report = exit?.supervisorReport {
            logger.log(level: report.level, "worker \(pid) \(report.text)")
        } else if !(exit == .terminated && child.replacing) {
            // Replaced over its memory use, it ends as told; otherwise someone else ended it.
            logger.error("worker \(pid) ended abnormally with exit code \(status.code); respawning")
        }
        let response = exit?.supervisorResponse ?? .respawnAfterFailure
        if case .stopAll(let code) = response {
            beginStop(code)
            return
        }
        // A worker that keeps dying at once must not spin the machine: back off.
        quickFailures = response == .respawnAfterFailure && lived < 1 ? quickFailures + 1 : 0
        if quickFailures >= Self.maxQuickFailures {
            logger.critical("workers died within a second of starting \(quickFailures) times in a row (last: \(status.signal.map { "signal \($0)" } ?? "exit code \(status.code)")); the plugin crashes before it can work, giving up. Run one worker by hand to see why")
            beginStop(.crashLoop)
            return
        }
        if quickFailures > 0 { pause(seconds: min(Double(quickFailures) * 0.5, 5)) }
        metrics.restarted()
        spawn(replacing: child.id)
    }

    private func beginStop(_ code: WorkerExitCode) {
        if !stopping { exitCode = code }
        stopping = true
        let deadline = MonotonicClock.now + options.gracePeriod
        for (pid, child) in children where child.killAt == nil {
            kill(pid, SIGTERM)
            children[pid]?.killAt = deadline
        }
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
            guard let limit = options.maxWorkerMemoryUsage, child.killAt == nil, let rss = residentBytes(of: pid), rss > limit else { continue }
            logger.error("worker \(pid) uses \(rss) bytes of memory, over the limit of \(limit); replacing it")
            kill(pid, SIGTERM)
            children[pid]?.killAt = now + options.gracePeriod
            children[pid]?.replacing = true
        }
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
