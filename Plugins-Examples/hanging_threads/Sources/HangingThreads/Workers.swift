#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Sergeant

/// The first task starts two threads that never end; the worker still ends after its one
/// task (max_tasks_per_run 1) and is replaced, threads and all.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode(host: "localhost", port: 6379, password: nil, database: 0)]),
                     maxTasksPerRun: 1, numberOfThreads: 2, logging: LoggingConfig(level: .info, logToStdout: true))
    }

    override func work(task: SergeantTask) throws {
        guard task.kwargs["param"]?.stringValue == "first" else { return }
        logger.info("param: first")
        for name in ["killable", "unkillable"] {
            let logger = self.logger
            Thread.detachNewThread {
                while true {
                    logger.info("\(name) thread: \(Worker.unixTime())")
                    sleep(1)
                }
            }
        }
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
