#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// A task with `timeout: true` runs past the 1 s timeout. Swift cannot be interrupted from a
/// signal handler, so long work checks `checkTimeout()`; a task that never checks (kwargs
/// `cooperative: false`) is ended by the host after the grace period, and the next worker
/// runs its on_timeout outcome.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 4, maxRetries: 3, tasksPerTransaction: 1,
                     timeouts: Timeouts(timeout: 1.0, gracePeriod: 1.0), logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        guard task.kwargs["timeout"]?.boolValue == true else {
            logger.info("Not going to timeout")
            return
        }
        logger.info("Going to timeout")
        let cooperative = task.kwargs["cooperative"]?.boolValue ?? true
        for _ in 0..<30 {
            if cooperative { try checkTimeout() }
            usleep(100_000)
        }
        logger.info("You won't see this print")
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
