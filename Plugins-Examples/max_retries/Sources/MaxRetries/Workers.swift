import Sergeant

/// Retries every task; the fourth run (max_retries 3) ends as max retries.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 4, maxRetries: 3, tasksPerTransaction: 1, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        logger.info("Going to retry (run_count \(task.runCount))")
        try retry(task: task)
    }

    override func onMaxRetries(task: SergeantTask) throws {
        logger.info("on_max_retries: gave up after \(task.runCount) retries")
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
