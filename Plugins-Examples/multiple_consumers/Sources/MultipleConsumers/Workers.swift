#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// Logs which process ran each task; two runs per process (max_tasks_per_run 2).
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 2, maxRetries: 3, tasksPerTransaction: 1, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        logger.info("\(task.kwargs["some_parameter"]?.stringValue ?? "?") task from \(getpid())")
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
