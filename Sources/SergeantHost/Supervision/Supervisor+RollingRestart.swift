#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantCore
import SergeantPluginLoader

// MARK: - Rolling restart (SIGHUP)

/// A rolling restart in progress: first a check child loads the module, then each old worker
/// is replaced in turn.
struct RollingRestart {
    /// One old worker being replaced: the new one starts first, the old one gets SIGTERM once
    /// the new one is ready.
    struct Replacement {
        var new: pid_t
        var old: pid_t
        var newReady = false
        var oldGone = false
    }

    /// The `sergeant-worker --check` child, until it has exited.
    var checker: pid_t?
    /// When the check is given up (the child is killed and the restart refused).
    var checkDeadline: Double
    /// Old workers not replaced yet, oldest first.
    var waiting: [pid_t] = []
    var current: Replacement?
    var replaced = 0
    /// Another SIGHUP came during this restart: run one more after it.
    var again = false
}

extension Supervisor {
    /// Seconds the check of a new module may take.
    static let moduleCheckTimeout = 60.0

    /// SIGHUP: check that the module at the plugin's path loads (in a child, so a half-copied
    /// file that crashes dlopen ends the child only), then replace the workers one at a time.
    func requestRollingRestart() {
        guard !stopping else { return }
        let module = options.launch.modulePath
        if rollingRestart != nil {
            rollingRestart?.again = true
            logger.info("received SIGHUP during a rolling restart: another one follows it", metadata: ["module": "\(module)"])
            return
        }
        var launch = options.launch
        launch.checkOnly = true
        let pid: pid_t
        do { pid = try start(launch) } catch {
            logger.error("received SIGHUP but cannot start the check of \(module): \(error.reason); keeping the running workers")
            return
        }
        logger.info("received SIGHUP: checking that \(module) loads before replacing the workers one at a time",
                    metadata: ["module": "\(module)", "check_pid": "\(pid)"])
        rollingRestart = RollingRestart(checker: pid, checkDeadline: MonotonicClock.now + Self.moduleCheckTimeout)
    }

    /// Reaps the check child; a module that loads starts the replacements, one that does not
    /// keeps every running worker.
    func reapChecker() {
        guard let checker = rollingRestart?.checker else { return }
        guard let status = ExitStatus.reap(checker) else {
            if let deadline = rollingRestart?.checkDeadline, MonotonicClock.now > deadline {
                logger.error("the check of the new module has run for \(Int(Self.moduleCheckTimeout)) s; killing it")
                kill(checker, SIGKILL)
                rollingRestart?.checkDeadline = .infinity
            }
            return
        }
        rollingRestart?.checker = nil
        let module = options.launch.modulePath
        guard status.signal == nil && status.code == 0 else {
            let why = status.signal.map { "the check process was killed by signal \($0)" }
                ?? WorkerExitCode(rawValue: status.code)?.hostMeaning.map { "\($0), reason above" } ?? "the check ended with exit code \(status.code)"
            logger.error("""
                rolling restart refused: \(module) does not load (\(why)); keeping the \(children.count) running worker(s). \
                Copy the complete file (write it beside and rename it over the old one), then send SIGHUP again
                """, metadata: ["module": "\(module)", "end": "\(status.signal.map { "signal \($0)" } ?? "exit code \(status.code)")"])
            let again = rollingRestart?.again ?? false
            rollingRestart = nil
            if again { requestRollingRestart() }
            return
        }
        let old = children.filter { !$0.value.retiring && $0.value.killAt == nil }.sorted { $0.value.started < $1.value.started }.map(\.key)
        rollingRestart?.waiting = old
        logger.info("\(module) loads: replacing \(old.count) worker(s) one at a time", metadata: ["module": "\(module)"])
    }

    /// Starts the next replacement once the current one is done; ends the restart when every
    /// old worker is replaced.
    func advanceRollingRestart() {
        guard var rolling = rollingRestart, rolling.checker == nil, !stopping else { return }
        if let current = rolling.current {
            guard current.newReady && current.oldGone else { return }
            rolling.replaced += 1
            rolling.current = nil
            logger.info("rolling restart: worker \(current.old) is replaced by worker \(current.new)")
        }
        while !rolling.waiting.isEmpty {
            let old = rolling.waiting.removeFirst()
            // An old worker that ended meanwhile was respawned from the new file already.
            guard let child = children[old], !child.retiring, child.killAt == nil else { continue }
            guard let new = spawn() else {
                rollingRestart = nil
                return
            }
            rolling.current = RollingRestart.Replacement(new: new, old: old)
            logger.info("rolling restart: started worker \(new) to replace worker \(old)", metadata: ["new_pid": "\(new)", "old_pid": "\(old)"])
            rollingRestart = rolling
            return
        }
        logger.info("rolling restart done: \(rolling.replaced) worker(s) replaced", metadata: ["module": "\(options.launch.modulePath)"])
        rollingRestart = nil
        if rolling.again { requestRollingRestart() }
    }

    /// The new worker of the current replacement is ready: stop the old one, with its grace period.
    func rollingWorkerIsReady(_ pid: pid_t) {
        guard let current = rollingRestart?.current, current.new == pid, !current.newReady else { return }
        rollingRestart?.current?.newReady = true
        guard !current.oldGone else { return }
        children[current.old]?.retiring = true
        logger.info("rolling restart: worker \(pid) is ready; stopping worker \(current.old) (SIGTERM, \(format(options.gracePeriod)) s to finish its task)")
        terminate(current.old)
    }

    /// A retired old worker has ended.
    func rollingOldWorkerEnded(_ pid: pid_t) {
        if rollingRestart?.current?.old == pid { rollingRestart?.current?.oldGone = true }
    }

    /// A worker that is not retiring ended during a rolling restart. True when the restart
    /// takes care of it (no respawn): a new worker that died before it was ready is an extra
    /// one (the restart stops and the old workers stay), and an old worker that died on its
    /// own is replaced by the new one already starting.
    func rollingWorkerEnded(_ pid: pid_t, ready: Bool) -> Bool {
        guard let current = rollingRestart?.current else { return false }
        if current.new == pid && !current.newReady {
            logger.error("""
                rolling restart stopped: the new worker \(pid) ended before it was ready (see its log above); \
                keeping the running workers
                """, metadata: ["module": "\(options.launch.modulePath)", "replaced": "\(rollingRestart?.replaced ?? 0)"])
            rollingRestart = nil
            return !current.oldGone
        }
        if current.old == pid {
            rollingRestart?.current?.oldGone = true
            return true
        }
        return false
    }

    /// SIGTERM or a fatal exit during a rolling restart: kill the check, replace nobody more.
    func cancelRollingRestart() {
        if let checker = rollingRestart?.checker {
            kill(checker, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(checker, &status, 0)
        }
        rollingRestart = nil
    }
}
