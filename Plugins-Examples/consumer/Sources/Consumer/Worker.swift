import Sergeant

/// The seed's consumer: logs the parameters of every task it receives.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(
            name: "test_worker",
            connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
            logging: LoggingConfig(level: .info, logToStdout: true)
        )
    }

    override func work(task: SergeantTask) throws {
        logger.info("task parameters are: \(task.kwargs)")
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
