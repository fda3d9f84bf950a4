#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// A worker whose every handler logs `handler: <name> ...`, and whose tasks pick an action
/// by `kwargs["action"]`, so tests can check what sergeant calls, in which order, with what.
final class Parity: Sergeant.Worker {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// An error that is not CustomStringConvertible, as users write them.
    struct PlainFailure: Error {
        let message: String
    }

    override func generateConfig() -> WorkerConfig {
        if let path = environment("PARITY_CONFIG_LOG"), let file = fopen(path, "a") {
            // One line per call, so a test counts how often the configuration was asked for.
            fputs("generate_config pid=\(getpid())\n", file)
            fclose(file)
        }
        var config = WorkerConfig(name: "parity", connector: .redis(nodes: [RedisNode()]), maxRetries: 2,
                                  logging: LoggingConfig(level: .info, logToStdout: true))
        config.logging.events.onSuccess = true
        if let seconds = environment("PARITY_STARVATION").flatMap(Double.init) {
            config.starvation = Starvation(timeWithNoTasks: seconds)
        }
        if let file = environment("PARITY_LOCAL_FILE") {
            config.connector = .local(filePath: file)
        }
        if let timeout = environment("PARITY_TIMEOUT").flatMap(Double.init) {
            config.timeouts = Timeouts(timeout: timeout, gracePeriod: timeout)
        }
        if let size = environment("PARITY_MAX_TASK_SIZE").flatMap(Int.init) {
            config.maxTaskSize = size
        }
        if environment("PARITY_AT_MOST_ONCE") != nil {
            config.atLeastOnce = false
        }
        if let threads = environment("PARITY_THREADS").flatMap(Int.init) {
            config.numberOfThreads = threads
            config.tasksPerTransaction = threads
        }
        return config
    }

    override func workReturning(task: SergeantTask) throws -> Value {
        let action = task.kwargs["action"]?.stringValue ?? ""
        logger.info("work: \(action) run_count=\(task.runCount) trace_id=\(task.traceID ?? "none")")
        switch action {
        case "return":
            return ["answer": 42]
        case "fail", "fail_then_retry":
            throw Failure(description: "failed on purpose")
        case "fail_plain":
            throw PlainFailure(message: "a plain failure")
        case "retry":
            try retry(task: task)
        case "requeue_once":
            if task.kwargs["requeued"] == nil {
                var kwargs = task.kwargs
                kwargs["requeued"] = true
                try pushTask(kwargs: .map(kwargs), priority: .high)
                try requeue(task: SergeantTask(kwargs: ["action": "noop"]))
            }
        case "push_child":
            try pushTask(kwargs: ["action": "child"])
        case "lock":
            let lock = lock("parity-lock")
            let acquired = try lock.acquire(timeout: 1, checkInterval: 0.05, ttl: 30)
            let second = try self.lock("parity-lock").acquire(timeout: 0.2, checkInterval: 0.05, ttl: 30)
            logger.info("lock: acquired=\(acquired) second acquire=\(second)")
            let (locked, ttl) = (try lock.isLocked(), try lock.getTTL() ?? -1)
            logger.info("lock: locked=\(locked) ttl=\(ttl)")
            let (wasSet, shorter) = (try lock.setTTL(5), try lock.getTTL() ?? -1)
            logger.info("lock: set_ttl=\(wasSet) ttl=\(shorter)")
            let (released, after, none) = (try lock.release(), try lock.isLocked(), try lock.getTTL())
            logger.info("lock: released=\(released) locked=\(after) ttl=\(String(describing: none))")
        case "keys":
            let (new, again) = (try setKey("parity-key", value: ["x": 1]), try setKey("parity-key", value: [1, "two"]))
            logger.info("keys: new=\(new) again=\(again)")
            let value = try getKey("parity-key")?.description ?? "nil"
            logger.info("keys: get=\(value)")
            let (deleted, gone) = (try deleteKey("parity-key"), try getKey("parity-key")?.description ?? "nil")
            logger.info("keys: deleted=\(deleted) get=\(gone)")
        case "queue_api":
            try pushTasks(kwargsList: [["action": "noop", "n": 1], ["action": "noop", "n": 2]], taskName: "parity-side")
            try pushTask(kwargs: ["action": "noop"], taskName: "parity-side", consumableFrom: Self.unixTime() + 60)
            let (count, withDelayed) = (try numberOfEnqueuedTasks(taskName: "parity-side"),
                                        try numberOfEnqueuedTasks(taskName: "parity-side", includeDelayed: true))
            logger.info("queue: count=\(count) with_delayed=\(withDelayed)")
            let next = try getNextTasks(numberOfTasks: 5, taskName: "parity-side").map { $0.kwargs["n"]?.description ?? "-" }
            logger.info("queue: got=\(next)")
            try purgeTasks(taskName: "parity-side")
            let left = try numberOfEnqueuedTasks(taskName: "parity-side", includeDelayed: true)
            logger.info("queue: after purge=\(left)")
        case "memory":
            // Touch 300 MB, then wait for the supervisor to replace this worker.
            let size = 300 << 20
            let block = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 4096)
            memset(block, 1, size)
            for _ in 0..<300 {
                try checkInterrupts()
                usleep(100_000)
            }
            block.deallocate()
        case "hang":
            // Ignores its timeout: the host must end this worker.
            sleep(30)
        case "slow":
            usleep(50_000)
            logger.info("slow: done n=\(task.kwargs["n"]?.description ?? "?")")
        case "respawn":
            try respawn()
        case "tally":
            // One line per run, so a test counts how often each task was worked.
            if let milliseconds = task.kwargs["ms"]?.doubleValue { usleep(UInt32(milliseconds * 1000)) }
            logger.info("tally: n=\(task.kwargs["n"]?.description ?? "?")")
        case "watch_clock":
            // Runs until released, saying when the wall clock jumps a day ahead; then says whether
            // the host thinks this task is past its timeout.
            let started = Self.unixTime()
            var jumped = false
            let deadline = MonotonicDeadline(seconds: 30)
            // After the jump it runs 0.3 s more (on the monotonic clock), so that a watchdog
            // looking every 50 ms sees the jumped clock several times.
            var afterJump = MonotonicDeadline(seconds: 30)
            while !deadline.passed, try !afterJump.passed || numberOfEnqueuedTasks(taskName: "parity-release") == 0 {
                if !jumped, Self.unixTime() > started + 86_400 {
                    jumped = true
                    afterJump = MonotonicDeadline(seconds: 0.3)
                    logger.info("clock: the wall clock jumped")
                }
                usleep(10_000)
            }
            logger.info("clock: timed_out=\(isTimedOut)")
        case "hold":
            // Runs until the test pushes to `parity-release` (or 30 s pass).
            logger.info("hold: holding n=\(task.kwargs["n"]?.description ?? "?")")
            let deadline = Self.unixTime() + 30
            while try numberOfEnqueuedTasks(taskName: "parity-release") == 0, Self.unixTime() < deadline {
                usleep(10_000)
            }
            logger.info("hold: released")
        default:
            break
        }
        return nil
    }

    override func initialize() throws { logger.info("handler: initialize") }
    override func finalize() throws { logger.info("handler: finalize") }
    override func preWork(task: SergeantTask) throws { logger.info("handler: pre_work") }
    override func postWork(task: SergeantTask, success: Bool, failure: String?) throws {
        logger.info("handler: post_work success=\(success) failure=\(failure ?? "none")")
    }
    override func onSuccess(task: SergeantTask, returnedValue: Value) throws {
        logger.info("handler: on_success returned=\(returnedValue)")
    }
    override func onFailure(task: SergeantTask, failure: String) throws {
        logger.info("handler: on_failure \(failure)")
        if task.kwargs["action"]?.stringValue == "fail_then_retry" { try retry(task: task) }
        if task.kwargs["action"]?.stringValue == "fail" { throw Failure(description: "the handler failed too") }
    }
    override func onRetry(task: SergeantTask) throws { logger.info("handler: on_retry run_count=\(task.runCount)") }
    override func onMaxRetries(task: SergeantTask) throws { logger.info("handler: on_max_retries run_count=\(task.runCount)") }
    override func onRequeue(task: SergeantTask) throws { logger.info("handler: on_requeue") }
    override func onTimeout(task: SergeantTask) throws { logger.info("handler: on_timeout") }
    override func onStarvation(timeWithNoTasks: Double) throws { logger.info("handler: on_starvation after \(Int(timeWithNoTasks)) s") }
    override func onStop(task: SergeantTask) throws { logger.info("handler: on_stop") }

    private func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Parity.self, ABIProbe.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}

/// A deadline on CLOCK_MONOTONIC, which a step of the wall clock does not move.
struct MonotonicDeadline {
    let end: Double

    init(seconds: Double) { end = Self.now() + seconds }

    var passed: Bool { Self.now() > end }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}
