import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - Callgrind

/// `--callgrind`: each main row of this project once more under valgrind's callgrind, in the
/// process that does the row's work (the pushing sergeant-bench, or one sergeant-worker that
/// consumes with the row's settings and ends by itself after its tasks: BENCH_MAX_TASKS).
/// Instructions (Ir) are deterministic where wall time is not, so this column compares
/// commits on a loaded machine. The figure is the marginal cost, (Ir(N) - Ir(M)) / (N - M)
/// with N = `--callgrind-tasks` and M = `--callgrind-baseline`: start-up is not in it.
extension Bench {
    /// Fills `instructionsPerTask` (or `callgrindError`) of every main row of this project.
    func countInstructions(_ rows: [Row]) {
        guard let valgrindPath else { return }
        for row in rows where row.section == "main" && row.system == .this {
            do {
                let large = try instructions(of: row, tasks: options.callgrindTasks, valgrind: valgrindPath)
                let small = try instructions(of: row, tasks: options.callgrindBaseline, valgrind: valgrindPath)
                row.instructionsPerTask = (large - small) / Double(options.callgrindTasks - options.callgrindBaseline)
                say("  \(row.label): \(Int(row.instructionsPerTask!.rounded())) Ir/task")
            } catch {
                row.callgrindError = "\(error)"
                say("  \(row.label): callgrind FAILED: \(error)")
            }
        }
    }

    /// Total instructions of the working process of `row` for `tasks` tasks.
    func instructions(of row: Row, tasks: Int, valgrind: String) throws -> Double {
        let profile = NSTemporaryDirectory() + "sergeant-bench-callgrind-\(UUID().uuidString).out"
        defer { unlink(profile) }
        let callgrind = [valgrind, "--tool=callgrind", "--callgrind-out-file=\(profile)"]
        let compressor = row.compressor ?? "none"
        try prepare(pinned: false)
        let output: String
        switch row.kind {
        case .pushOne, .pushBulk:
            output = try Spawned.run(callgrind + [pushPath, "push", "--port", String(redis.port), "--mode", row.kind == .pushOne ? "one" : "bulk",
                                                  "--compressor", compressor, "--tasks", String(tasks)], timeout: 1800)
        case .consumeOne, .consumeBatch:
            try fillThis(compressor: compressor, nodes: [redis], tasks: tasks)
            let report = ReportFile()
            var environment = pluginEnvironment(nodes: [redis], perTransaction: row.kind == .consumeOne ? 1 : 1000, compressor: compressor,
                                                atLeastOnce: row.atLeastOnce ?? true, threads: 1, report: report.path)
            environment["BENCH_MAX_TASKS"] = String(tasks)
            output = try Spawned.run(callgrind + [workerPath, "--worker-module", pluginPath, "--worker-class", "Worker"],
                                     environment: environment, timeout: 1800)
            let done = report.read().done.values.reduce(0) { $0 + $1.count }
            guard done == tasks else {
                throw SupportError("the worker under callgrind reported \(done) tasks done, wanted \(tasks):\n\(output.suffix(2000))")
            }
        }
        // callgrind's closing summary: "==PID== Collected : 123456789".
        guard let line = output.split(separator: "\n").last(where: { $0.contains("Collected :") }),
              let count = Double(line.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) ?? "") else {
            throw SupportError("no `Collected :` line in callgrind's output:\n\(output.suffix(2000))")
        }
        return count
    }
}
