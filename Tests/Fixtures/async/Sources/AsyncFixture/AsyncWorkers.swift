#if canImport(Glibc)
import Glibc
#endif
import Sergeant
import Synchronization

/// Tasks running right now in this process, for the `running=N` of the log lines.
let running = Atomic<Int>(0)

/// `{"n": N, "ms": M}`: awaits M ms (Task.sleep), logging `started n=N running=R` and
/// `finished n=N`. Queue "async_sleep", 10 at once, 5 per transaction.
final class SleepWorker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "async_sleep", connector: .redis(nodes: [RedisNode()]), tasksPerTransaction: 5,
                     logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: 10)
    }

    override func work(task: SergeantTask) async throws {
        let n = task.kwargs["n"]?.intValue ?? -1
        let now = running.add(1, ordering: .relaxed).newValue
        defer { running.subtract(1, ordering: .relaxed) }
        logger.info("started n=\(n) running=\(now)")
        try await Task.sleep(for: .milliseconds(task.kwargs["ms"]?.intValue ?? 0))
        logger.info("finished n=\(n)")
    }
}

/// Queue "async_timeout": timeout 1 s, grace period 2 s. `{"mode": "cooperative"}` sleeps
/// 30 s and sees its cancellation; `{"mode": "ignore"}` blocks 10 s without looking at it.
/// on_timeout (async form) logs `on_timeout ran mode=M`.
final class TimeoutWorker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "async_timeout", connector: .redis(nodes: [RedisNode()]),
                     timeouts: Timeouts(timeout: 1, gracePeriod: 2),
                     logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: 4)
    }

    override func work(task: SergeantTask) async throws {
        let mode = task.kwargs["mode"]?.stringValue ?? ""
        logger.info("started mode=\(mode)")
        if mode == "ignore" {
            for _ in 0..<1000 { usleep(10_000) }
            logger.info("the ignoring task ran to its end")
            return
        }
        let logger = logger
        do {
            try await withTaskCancellationHandler {
                try await Task.sleep(for: .seconds(30))
            } onCancel: {
                logger.info("cancellation handler ran")
            }
        } catch is CancellationError {
            logger.info("saw CancellationError isCancelled=\(Task.isCancelled)")
            throw CancellationError()
        }
    }

    override func onTimeout(task: SergeantTask) async throws {
        logger.info("on_timeout ran mode=\(task.kwargs["mode"]?.stringValue ?? "")")
    }
}

/// Queue "async_stop": 3 at once, grace period 1 s, no timeout. `{"n": N, "ms": M}` awaits
/// M ms; on_stop (async form) logs `on_stop ran n=N`.
final class StopWorker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "async_stop", connector: .redis(nodes: [RedisNode()]),
                     timeouts: Timeouts(timeout: 0, gracePeriod: 1),
                     logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: 3)
    }

    override func work(task: SergeantTask) async throws {
        let n = task.kwargs["n"]?.intValue ?? -1
        logger.info("started n=\(n)")
        try await Task.sleep(for: .milliseconds(task.kwargs["ms"]?.intValue ?? 0))
        logger.info("finished n=\(n)")
    }

    override func onStop(task: SergeantTask) async throws {
        logger.info("on_stop ran n=\(task.kwargs["n"]?.intValue ?? -1)")
    }
}

/// Queue "async_broker", 10 at once. `{"mode": "lock"}` awaits `lock("held").acquire` for up
/// to 8 s; `{"mode": "tick"}` awaits 100 ms and logs `tick done after S s`; `{"mode":
/// "push"}` pushes `{"from": "async"}` to "async_side" and sets key "async_key" to 7.
final class BrokerWorker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "async_broker", connector: .redis(nodes: [RedisNode()]),
                     logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: 10)
    }

    override func work(task: SergeantTask) async throws {
        switch task.kwargs["mode"]?.stringValue {
        case "lock":
            let taken = try await lock("held").acquire(timeout: 8, checkInterval: 0.1)
            logger.info("lock acquire returned \(taken)")
        case "tick":
            let started = ContinuousClock.now
            try await Task.sleep(for: .milliseconds(100))
            let elapsed = ContinuousClock.now - started
            logger.info("tick done after \(Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) s")
        case "push":
            try await pushTask(kwargs: ["from": "async"], taskName: "async_side")
            try await setKey("async_key", value: 7)
            logger.info("pushed and set")
        default:
            break
        }
    }
}

/// Queue "async_io": an IO-bound task, `{"ms": M}` awaits M ms and logs nothing.
/// ASYNC_IO_CONCURRENCY sets max_concurrent_tasks (default 100), 100 per transaction.
final class IOWorker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        let concurrency = getenv("ASYNC_IO_CONCURRENCY").flatMap { Int(String(cString: $0)) } ?? 100
        return WorkerConfig(name: "async_io", connector: .redis(nodes: [RedisNode()]), tasksPerTransaction: 100,
                            logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: concurrency)
    }

    override func work(task: SergeantTask) async throws {
        try await Task.sleep(for: .milliseconds(task.kwargs["ms"]?.intValue ?? 0))
    }
}

/// Overrides the sync pre_work, calling `super` (an override all the same), and the async
/// on_success, nothing else: HandlerOverridesTests reads which table entries the SDK fills.
class SuperCallingWorker: Sergeant.Worker {
    override func preWork(task: SergeantTask) throws {
        try super.preWork(task: task)
        logger.info("pre_work after super")
    }

    override func onSuccess(task: SergeantTask, returnedValue: Value) async throws {
        logger.info("on_success")
    }
}

/// Overrides nothing itself: it inherits SuperCallingWorker's overrides.
final class InheritingWorker: SuperCallingWorker {}

@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([SleepWorker.self, TimeoutWorker.self, StopWorker.self, BrokerWorker.self, IOWorker.self,
                   SuperCallingWorker.self, InheritingWorker.self], className: className,
                  hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
