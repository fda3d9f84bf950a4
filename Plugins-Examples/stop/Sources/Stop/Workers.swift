#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// The `first` task asks the supervisor to stop every worker; the other workers' long tasks
/// notice the stop (`checkInterrupts()`) and end in on_stop.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]), logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        switch task.kwargs["param"]?.stringValue {
        case "first":
            logger.info("param: first, asking for a stop")
            try stop()
        case "second":
            logger.info("param: second, sleeping")
            try sleep(seconds: 3)
        case "third":
            logger.info("param: third, what?")
            try sleep(seconds: 3)
        default:
            break
        }
    }

    override func onStop(task: SergeantTask) throws {
        logger.info("on_stop: \(task.kwargs["param"]?.stringValue ?? "?") was interrupted")
    }

    private func sleep(seconds: Double) throws {
        for _ in 0..<Int(seconds * 10) {
            try checkInterrupts()
            usleep(100_000)
        }
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
