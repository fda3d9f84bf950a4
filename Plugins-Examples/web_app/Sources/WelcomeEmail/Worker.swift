import Sergeant

/// Sends the welcome email of each signup the web app queues.
///
/// The mail provider's HTTP call is stood in for by a 50 ms sleep: the worker awaits it on
/// Swift concurrency, so one process has up to `maxConcurrentTasks` emails in flight at once.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(
            name: "send_welcome_email",
            connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
            logging: LoggingConfig(level: .info, logToStdout: true),
            maxConcurrentTasks: 100
        )
    }

    override func work(task: SergeantTask) async throws {
        guard let email = task.kwargs["email"]?.stringValue else {
            logger.error("send_welcome_email task without an email", metadata: ["kwargs": "\(task.kwargs)"])
            return
        }
        try await Task.sleep(for: .milliseconds(50))   // stands in for the mail provider's HTTP API
        logger.info("sent the welcome email to \(email)", metadata: ["email": "\(email)"])
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
