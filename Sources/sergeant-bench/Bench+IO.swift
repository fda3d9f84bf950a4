import Foundation
import SergeantTestSupport

// MARK: - IO-bound rows

/// Milliseconds every task of the IO-bound rows waits (Python's `time.sleep(0.02)`).
let ioSleepMilliseconds = 20

extension Bench {
    /// 20,000 tasks (`--io-tasks`) that each wait 20 ms: this project's async executor at
    /// max_concurrent_tasks 100 and 500 (`Task.sleep`), its threaded executor with 16 threads
    /// (`usleep`), Python sergeant's threaded executor with 16 and 100 threads (`time.sleep`).
    /// A row's `threads` is its concurrency N; its limit is N / 20 ms tasks a second.
    func ioRows() -> [Row] {
        let tasks = options.ioTasks
        var rows: [Row] = []
        for concurrency in [100, 500] {
            rows.append(Row(section: "io", kind: .consumeBatch, system: .this, threads: concurrency,
                            detail: "async executor, max_concurrent_tasks \(concurrency)", tasks: tasks) { [unowned self] in
                // One pull refills the whole window: at 100 per transaction N = 500 reached 67% of
                // its limit, at N per transaction 90% (measured, one run on a loaded machine).
                try self.consumeIOThis(asyncTasks: concurrency, threads: 1, perTransaction: concurrency)
            })
        }
        rows.append(Row(section: "io", kind: .consumeBatch, system: .this, threads: 16,
                        detail: "threaded executor, 16 threads", tasks: tasks) { [unowned self] in
            try self.consumeIOThis(asyncTasks: 0, threads: 16, perTransaction: 16)
        })
        for threads in [16, 100] {
            rows.append(Row(section: "io", kind: .consumeBatch, system: .python, threads: threads,
                            detail: "threaded executor, \(threads) threads", tasks: tasks) { [unowned self] in
                try self.consumeIOPython(threads: threads)
            })
        }
        return rows
    }

    func consumeIOThis(asyncTasks: Int, threads: Int, perTransaction: Int) throws -> Sample {
        try prepare(pinned: false)
        try fillThis(compressor: "none", nodes: [redis], tasks: options.ioTasks)
        let report = ReportFile()
        var environment = pluginEnvironment(nodes: [redis], perTransaction: perTransaction, compressor: "none", atLeastOnce: true,
                                            threads: threads, report: report.path)
        environment["BENCH_ASYNC"] = String(asyncTasks)
        environment["BENCH_SLEEP_MS"] = String(ioSleepMilliseconds)
        let host = try startHost(workers: 1, environment: environment, pinned: false)
        defer { host.stop() }
        return try waitForTotals(report, process: host, tasks: options.ioTasks, secondsPerTask: 0.03)
    }

    func consumeIOPython(threads: Int) throws -> Sample {
        try prepare(pinned: false)
        let report = ReportFile()
        var environment = pythonEnvironment(compressor: "none", perTransaction: threads, report: report.path)
        environment["BENCH_THREADS"] = String(threads)
        environment["BENCH_SLEEP_MS"] = String(ioSleepMilliseconds)
        _ = try Spawned.run([pythonPath, benchDirectory + "/python_bench.py", "fill", "--tasks", String(options.ioTasks)],
                            environment: environment)
        let supervisor = try startPythonSupervisor(workers: 1, environment: environment, pinned: false)
        defer { supervisor.stop(grace: 0) }
        return try waitForTotals(report, process: supervisor, tasks: options.ioTasks, secondsPerTask: 0.03)
    }
}
