import Sergeant

/// A `start` task pushes a `delayed` task that may only be consumed 5 seconds later.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 2, maxRetries: 3, tasksPerTransaction: 1, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        switch task.kwargs["type"]?.stringValue {
        case "start":
            logger.info("type: start")
            try pushTask(kwargs: ["type": "delayed"], consumableFrom: Self.unixTime() + 5)
        case "delayed":
            logger.info("type: delayed")
        default:
            break
        }
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
