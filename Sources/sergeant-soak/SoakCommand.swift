import ArgumentParser
import Foundation
import SergeantTestSupport

// MARK: - SoakCommand

/// `make soak`: millions of tasks through the real supervisor and worker processes, once per
/// executor, watching the workers' resident memory and descriptors and Redis's memory for
/// growth after warm-up.
@main
struct SoakCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-soak",
        abstract: "Push and work millions of tasks per executor; fail when a worker's RSS or descriptors grow after warm-up.",
        discussion: """
            For each executor of --executors: starts a private redis-server on a free port and one \
            sergeant-host with --workers worker processes of the benchmark plugin \
            (Plugins-Examples/benchmark), and pushes --tasks tasks in chunks of --chunk, keeping at \
            most --depth waiting. Every --interval seconds it samples each worker's and the \
            supervisor's VmRSS (/proc/PID/status) and open descriptors (/proc/PID/fd) and Redis's \
            used_memory into --csv. Once the first --warm-up share of the tasks is worked and \
            --warm-up-seconds passed, the next sample is the baseline; the last sample (every task \
            worked) under load is compared with it; a last sample is taken idle, every task worked.

            PASS for an executor: no worker's RSS grew by --rss-growth-limit percent or more and no \
            worker's descriptor count rose. Exit code 0 when every executor passes, 1 when one \
            fails, 2 when the soak could not run.
            """
    )

    @Option(help: "Tasks pushed and worked per executor.")
    var tasks = 2_000_000

    @Option(help: "Executors to soak, comma-separated, one run each: \(SoakExecutor.allCases.map(\.rawValue).joined(separator: ", ")).")
    var executors = SoakExecutor.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Worker processes (sergeant-host --concurrent-workers).")
    var workers = 2

    @Option(help: "Threads per worker of the threaded executor.")
    var threads = 2

    @Option(name: .customLong("tasks-per-transaction"), help: "Tasks a worker pulls per transaction.")
    var tasksPerTransaction = 10

    @Option(help: "Most tasks waiting in the queue: the producer tops it up to this depth.")
    var depth = 20_000

    @Option(help: "Tasks per push (one RPUSH).")
    var chunk = 1_000

    @Option(name: .customLong("warm-up"), help: "Share of the tasks worked before the baseline sample (0.1: the first 10%).")
    var warmUp = 0.1

    @Option(name: .customLong("warm-up-seconds"),
            help: "Seconds from the first push before the baseline sample, at least (a worker opens its heartbeat connection 5 s in).")
    var warmUpSeconds = 10.0

    @Option(help: "Most tasks pushed a second (default: as fast as the workers take them).")
    var rate: Double?

    @Option(help: "Seconds between two samples.")
    var interval = 1.0

    @Option(name: .customLong("rss-growth-limit"), help: "Largest growth of a worker's RSS after warm-up that passes, in percent.")
    var rssGrowthLimit = 5.0

    @Option(help: "Seconds one executor's run may take.")
    var timeout = 3_600.0

    @Option(help: "The CSV of every sample (default: bench/results/soak.csv).")
    var csv = ProjectPaths.root.appendingPathComponent("bench/results/soak.csv").path

    @Option(help: "The summary the soak prints, also written here (default: none).")
    var summary: String?

    @Option(help: "The benchmark plugin (default: the one make examples builds, Tests/Plugins/.build/debug/libbenchmark.so).")
    var plugin: String?

    @Option(help: "Directory holding sergeant-host and sergeant-worker (default: SERGEANT_BIN, else this executable's directory).")
    var bin: String?

    @Option(help: "Which code the figures are for, printed in the first line (make soak passes the commit).")
    var revision: String?

    @Option(help: "Queue name (BENCH_QUEUE).")
    var queue = "soak"

    func validate() throws {
        guard tasks >= 1, workers >= 1, threads >= 1, tasksPerTransaction >= 1 else {
            throw ValidationError("--tasks, --workers, --threads and --tasks-per-transaction must be at least 1")
        }
        guard chunk >= 1, depth >= 2 * chunk else { throw ValidationError("--depth must be at least twice --chunk (\(chunk))") }
        guard warmUp >= 0, warmUp < 1 else { throw ValidationError("--warm-up must be at least 0 and below 1 (a share of --tasks)") }
        guard warmUpSeconds >= 0, (rate ?? 1) > 0 else { throw ValidationError("--warm-up-seconds must not be negative, --rate must be positive") }
        guard interval > 0, timeout > 0, rssGrowthLimit > 0 else {
            throw ValidationError("--interval, --timeout and --rss-growth-limit must be positive")
        }
        do { _ = try SoakExecutor.parse(executors) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        installInterruptHandlers()
        let settings = SoakSettings(
            tasks: tasks, workers: workers, threads: threads, tasksPerTransaction: tasksPerTransaction, depth: depth, chunk: chunk,
            warmUp: warmUp, warmUpSeconds: warmUpSeconds, rate: rate, interval: interval, rssGrowthLimit: rssGrowthLimit,
            timeout: timeout, bin: bin ?? ProjectPaths.toolBinaries,
            plugin: try plugin ?? ProjectPaths.plugin("benchmark"), queue: queue
        )
        let started = Date()
        var lines = ["soak" + (revision.map { " (code at \($0))" } ?? "") + ": "
                     + String(format: "%d tasks per executor, %d workers, %d per transaction, queue depth <= %d, "
                              + "warm-up %.0f%% of the tasks and %.0f s, a sample every %.1f s",
                              tasks, workers, tasksPerTransaction, depth, warmUp * 100, warmUpSeconds, interval)
                     + (rate.map { String(format: ", at most %.0f tasks/s", $0) } ?? "")
                     + "; load average \(Self.loadAverage()) at the start"]
        say(lines[0])
        var samples: [SoakSample] = []
        var verdicts: [SoakVerdict] = []
        for executor in try SoakExecutor.parse(executors) {
            let run = SoakRun(settings: settings, executor: executor)
            do {
                try run.execute()
            } catch {
                samples += run.samples
                try? write(samples: samples)
                say("soak of the \(executor.rawValue) executor could not finish: \(error)")
                throw ExitCode(2)
            }
            samples += run.samples
            let verdict = SoakVerdict(executor: executor, tasks: run.worked, seconds: run.seconds, samples: run.samples,
                                      rssGrowthLimit: rssGrowthLimit, newDescriptors: run.newDescriptors)
            verdicts.append(verdict)
            lines += verdict.lines
            verdict.lines.forEach { say($0) }
        }
        try write(samples: samples)
        let passed = verdicts.allSatisfy(\.passed)
        lines.append("load average \(Self.loadAverage()) at the end, " + String(format: "%.1f minutes", Date().timeIntervalSince(started) / 60))
        say(lines.last!)
        lines.append(passed ? "PASS" : "FAIL")
        say(lines.last!)
        if let summary { try (lines.joined(separator: "\n") + "\n").write(toFile: summary, atomically: true, encoding: .utf8) }
        if !passed { throw ExitCode(1) }
    }

    private func write(samples: [SoakSample]) throws {
        let text = ([SoakSample.csvHeader] + samples.map(\.csvLine)).joined(separator: "\n") + "\n"
        try text.write(toFile: csv, atomically: true, encoding: .utf8)
    }

    /// The three load averages of /proc/loadavg (a shared machine's soak is slower).
    static func loadAverage() -> String {
        let text = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)) ?? "? ? ?"
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}

/// Prints a line at once, also into a file or a pipe (print buffers those); a reader that
/// went away (`| head`) is no error.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}
