#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// Counts tasks. `BENCH_TASKS` tasks make one run (max_tasks_per_run), pulled
/// `BENCH_TASKS_PER_TRANSACTION` at a time; `finalize` logs the time from the first task
/// pulled to the last finished, which `make bench` reads.
final class Worker: Sergeant.Worker {
    private var first: Double?
    private var count = 0

    override func generateConfig() -> WorkerConfig {
        WorkerConfig(
            name: "benchmark",
            connector: .redis(nodes: [RedisNode()]),
            maxTasksPerRun: Self.setting("BENCH_TASKS", 100_000),
            tasksPerTransaction: Self.setting("BENCH_TASKS_PER_TRANSACTION", 1),
            logging: LoggingConfig(level: .info, logToStdout: true)
        )
    }

    override func preWork(task: SergeantTask) throws {
        if first == nil { first = unixTime() }
    }

    override func work(task: SergeantTask) throws {
        count += 1
    }

    override func finalize() throws {
        let seconds = unixTime() - (first ?? unixTime())
        logger.info("benchmark: \(count) tasks in \(seconds) s")
    }

    static func setting(_ name: String, _ fallback: Int) -> Int {
        getenv(name).flatMap { Int(String(cString: $0)) } ?? fallback
    }
}

@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
