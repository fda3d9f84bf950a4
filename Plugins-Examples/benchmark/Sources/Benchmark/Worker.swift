#if canImport(Glibc)
import Glibc
#endif
import Sergeant
import Synchronization

/// The worker `make bench` runs through the real `sergeant-host`: `work` counts tasks.
///
/// Settings come from the environment, so one .so serves every row of the table:
///
/// | variable | meaning | default |
/// | --- | --- | --- |
/// | `BENCH_REDIS_PORTS` | comma-separated ports of Redis nodes on 127.0.0.1 | 6379 |
/// | `BENCH_QUEUE` | queue name | `benchmark` |
/// | `BENCH_TASKS_PER_TRANSACTION` | tasks pulled per round trip | 1 |
/// | `BENCH_AT_LEAST_ONCE` | `1`/`true` or `0`/`false` | true |
/// | `BENCH_COMPRESSOR` | `none`, `zlib`, `gzip`, `bzip2`, `lzma` | none |
/// | `BENCH_THREADS` | number_of_threads | 1 |
/// | `BENCH_MAX_TASKS` | max_tasks_per_run (0: forever) | 0 |
/// | `BENCH_ASYNC` | max_concurrent_tasks: N > 0 runs the async `work` on the async executor | 0 |
/// | `BENCH_SLEEP_MS` | each task waits this long (async: `Task.sleep`; sync: `usleep`) | 0 |
/// | `BENCH_REPORT` | file the report lines are appended to | (the worker's log) |
///
/// Report lines, one `write(2)` each (atomic with O_APPEND, so workers can share a file):
/// - `ready PID TIME` when the worker process starts (initialize);
/// - `first_done PID TIME` when its first task finished;
/// - `latency PID PUSHED STARTED` for a task with a `pushed_at` kwarg (idle latency);
/// - `done PID COUNT FIRST LAST VMHWM_KB` when the queue ran dry (on_starvation, about a
///   second after the last task, outside the timed span) and in finalize: tasks worked, the
///   start of its first task, the end of its last, and the process's peak RSS.
final class Worker: Sergeant.Worker {
    /// Tasks worked, the start of the first and the end of the last; the executor's threads
    /// share them.
    private struct Totals {
        var count = 0
        var first = 0.0
        var last = 0.0
    }

    private let totals = Mutex(Totals())
    private lazy var report: Int32 = Self.openReport()

    override func generateConfig() -> WorkerConfig {
        WorkerConfig(
            name: Self.text("BENCH_QUEUE") ?? "benchmark",
            connector: .redis(nodes: (Self.text("BENCH_REDIS_PORTS") ?? "6379").split(separator: ",").compactMap { Int($0) }
                .map { RedisNode(host: "127.0.0.1", port: $0) }),
            maxTasksPerRun: Self.number("BENCH_MAX_TASKS", 0),
            tasksPerTransaction: Self.number("BENCH_TASKS_PER_TRANSACTION", 1),
            numberOfThreads: Self.number("BENCH_THREADS", 1),
            encoder: EncoderConfig(serializer: .msgpack, compressor: Self.compressor()),
            logging: LoggingConfig(level: .info, logToStdout: true, events: Self.quietStarvation),
            // Reports the totals once the queue is dry (see the type's documentation).
            starvation: Starvation(timeWithNoTasks: 0.5),
            atLeastOnce: Self.flag("BENCH_AT_LEAST_ONCE", true),
            maxConcurrentTasks: Self.number("BENCH_ASYNC", 0)
        )
    }

    /// sergeant's default events without the "worker is starving" line, which the report
    /// hook below makes once a second.
    static var quietStarvation: LoggingEvents {
        var events = LoggingEvents()
        events.onStarvation = false
        return events
    }

    override func initialize() throws {
        emit("ready \(getpid()) \(Self.unixTime())")
    }

    /// Milliseconds each task waits (`BENCH_SLEEP_MS`): an IO-bound task.
    private static let sleepMilliseconds = number("BENCH_SLEEP_MS", 0)

    override func work(task: SergeantTask) throws {
        let started = Self.unixTime()
        if let pushed = task.kwargs["pushed_at"]?.doubleValue {
            emit("latency \(getpid()) \(pushed) \(started)")
        }
        if Self.sleepMilliseconds > 0 { usleep(UInt32(Self.sleepMilliseconds * 1000)) }
        count(started: started, ended: Self.unixTime())
    }

    /// The async executor's form (`BENCH_ASYNC` > 0): awaits the sleep instead of blocking a thread.
    override func work(task: SergeantTask) async throws {
        let started = Self.unixTime()
        if let pushed = task.kwargs["pushed_at"]?.doubleValue {
            emit("latency \(getpid()) \(pushed) \(started)")
        }
        if Self.sleepMilliseconds > 0 { try await Task.sleep(for: .milliseconds(Self.sleepMilliseconds)) }
        count(started: started, ended: Self.unixTime())
    }

    private func count(started: Double, ended: Double) {
        let isFirst = totals.withLock { totals in
            if totals.count == 0 { totals.first = started }
            totals.count += 1
            if ended > totals.last { totals.last = ended }
            return totals.count == 1
        }
        if isFirst { emit("first_done \(getpid()) \(ended)") }
    }

    override func onStarvation(timeWithNoTasks: Double) throws {
        emitTotals()
    }

    override func finalize() throws {
        emitTotals()
    }

    private func emitTotals() {
        let now = totals.withLock { $0 }
        emit("done \(getpid()) \(now.count) \(now.first) \(now.last) \(Self.peakResidentKilobytes())")
    }

    /// Appends one line to the report file, or logs it when there is none.
    private func emit(_ line: String) {
        guard report >= 0 else {
            logger.info("benchmark: \(line)")
            return
        }
        let text = Array((line + "\n").utf8)
        _ = text.withUnsafeBytes { write(report, $0.baseAddress, $0.count) }
    }

    private static func openReport() -> Int32 {
        guard let path = text("BENCH_REPORT") else { return -1 }
        return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
    }

    /// VmHWM of this process from /proc/self/status, in kB (0 when unreadable).
    static func peakResidentKilobytes() -> Int {
        guard let file = fopen("/proc/self/status", "r") else { return 0 }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard text.hasPrefix("VmHWM:") else { continue }
            return Int(text.dropFirst("VmHWM:".count).filter(\.isNumber)) ?? 0
        }
        return 0
    }

    // MARK: Environment

    static func text(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
    }

    static func number(_ name: String, _ fallback: Int) -> Int {
        text(name).flatMap { Int($0) } ?? fallback
    }

    static func flag(_ name: String, _ fallback: Bool) -> Bool {
        switch text(name)?.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: return fallback
        }
    }

    static func compressor() -> Compressor? {
        guard let name = text("BENCH_COMPRESSOR"), name != "none" else { return nil }
        return Compressor(rawValue: name)
    }
}

@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self], className: className, hostAPI: hostAPI, workerAPI: workerAPI, error: error)
}
