#if canImport(Glibc)
import Glibc
#endif
import Sergeant

/// The worker of the fault-injection suite (Sources/sergeant-chaos).
///
/// - `{"n": N}` appends the line `N\n` to the file named by CHAOS_OUTPUT with a single
///   `write(2)` on an `O_APPEND` descriptor, so lines from concurrent processes never mix,
///   after sleeping 1-5 ms so that kills land in the middle of a batch.
/// - `{"poison": true}` aborts the process, every time.
///
/// Environment: CHAOS_QUEUE (queue name, default "chaos"), CHAOS_BATCH (tasks per
/// transaction, default 10), CHAOS_OUTPUT (required for numbered tasks), CHAOS_ASYNC (N > 0:
/// the async executor with max_concurrent_tasks N, and the async `work`, which awaits its
/// 1-5 ms with Task.sleep), CHAOS_LOCAL_FILE (the local connector's SQLite file; without it
/// Redis, which comes from SERGEANT_REDIS through the host).
final class ChaosWorker: Sergeant.Worker {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The output file, opened once per worker process.
    private var descriptor: Int32 = -1

    override func generateConfig() -> WorkerConfig {
        let queue = environment("CHAOS_QUEUE") ?? "chaos"
        let batch = environment("CHAOS_BATCH").flatMap(Int.init) ?? 10
        let concurrent = environment("CHAOS_ASYNC").flatMap(Int.init) ?? 0
        let connector = environment("CHAOS_LOCAL_FILE").map { ConnectorConfig.local(filePath: $0) } ?? .redis(nodes: [RedisNode()])
        return WorkerConfig(name: queue, connector: connector, tasksPerTransaction: max(1, batch),
                            logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: max(0, concurrent))
    }

    override func initialize() throws {
        guard let path = environment("CHAOS_OUTPUT") else {
            throw Failure(description: "CHAOS_OUTPUT is not set")
        }
        descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw Failure(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
    }

    override func finalize() throws {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    override func work(task: SergeantTask) throws {
        let number = try self.number(of: task)
        usleep(UInt32.random(in: 1_000...5_000))
        try record(number)
    }

    override func work(task: SergeantTask) async throws {
        let number = try self.number(of: task)
        try await Task.sleep(for: .microseconds(Int.random(in: 1_000...5_000)))
        try record(number)
    }

    private func number(of task: SergeantTask) throws -> Int {
        if task.kwargs["poison"]?.boolValue == true {
            abort()
        }
        guard let number = task.kwargs["n"]?.intValue else {
            throw Failure(description: "a chaos task needs an integer \"n\" or \"poison\": \(task.kwargs)")
        }
        return number
    }

    private func record(_ number: Int) throws {
        let line = Array("\(number)\n".utf8)
        let written = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw Failure(description: "write of task \(number) returned \(written): \(String(cString: strerror(errno)))")
        }
    }

    private func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }
}

@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([ChaosWorker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
