import Sergeant

/// consumer_a logs its task and pushes a task to consumer_b's queue.
final class ConsumerA: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "consumer_a", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 1, maxRetries: 3, tasksPerTransaction: 1, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        logger.info("I am consumer_a. Got parameter: \(task.kwargs["some_parameter"]?.stringValue ?? "?")")
        try pushTask(kwargs: ["some_parameter": "hello from consumer a"], taskName: "consumer_b")
    }
}

/// consumer_b logs what consumer_a sent.
final class ConsumerB: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "consumer_b", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 1, maxRetries: 3, tasksPerTransaction: 1, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        logger.info("I am consumer_b. Got parameter: \(task.kwargs["some_parameter"]?.stringValue ?? "?")")
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([ConsumerA.self, ConsumerB.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
