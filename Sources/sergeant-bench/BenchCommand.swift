import ArgumentParser
import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - sergeant-bench

/// `make bench`: this project, Python sergeant 0.27 and the bare Redis limit on one private
/// redis-server, run by run, then one table, a CSV and (through scripts/bench.sh) a chart.
@main
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-bench",
        abstract: "Benchmark sergeant for Swift against Python sergeant 0.27 and the raw Redis limit.",
        subcommands: [RunBench.self, PushChild.self, PushClientChild.self],
        defaultSubcommand: RunBench.self
    )
}

/// The payload of every benchmark task.
let benchKwargs: ValueMap = ["some_parameter": "one"]

/// The queue every row uses.
let benchQueue = "benchmark"

// MARK: - push (the producer process of the push rows)

/// Pushes tasks the way a producer of this project does (`Broker.push`), in a process of its
/// own so that it can be pinned and its peak RSS read; prints `seconds S`.
struct PushChild: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "push", abstract: "Time pushes (used by the benchmark).")

    @Option(help: "Redis port on 127.0.0.1.")
    var port: Int

    @Option(help: "one (one call per task) or bulk (one call).")
    var mode: String

    @Option(help: "none, zlib, gzip, bzip2 or lzma.")
    var compressor = "none"

    @Option(help: "Tasks to push.")
    var tasks = 100_000

    func run() throws {
        let logger = Logger(label: "bench") { SergeantLogHandler(label: $0, level: .error) }
        let broker = Broker(connector: RedisConnector(nodes: [RedisNode(host: "127.0.0.1", port: port)], logger: logger),
                            encoder: TaskEncoder(compressor: compressor == "none" ? nil : Compressor(rawValue: compressor)))
        try broker.purge(queue: benchQueue)  // also connects, outside the timed span
        let start = unixTime()
        switch mode {
        case "one":
            for _ in 0..<tasks { try broker.push(tasks: [SergeantTask(kwargs: benchKwargs)], queue: benchQueue) }
        case "bulk":
            try broker.push(tasks: (0..<tasks).map { _ in SergeantTask(kwargs: benchKwargs) }, queue: benchQueue)
        default:
            throw ValidationError("--mode is one or bulk")
        }
        let seconds = unixTime() - start
        say("seconds \(seconds) vmhwm_kb \(peakResidentKilobytes())")
    }
}

// MARK: - run (the benchmark)

struct RunBench: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Run the benchmark and print the table.")

    @Option(help: "Tasks per row.")
    var tasks = 100_000

    @Option(help: "Runs of each main row (push and consume); the table shows the median.")
    var runs = 5

    @Option(help: "Runs of each scaling row.")
    var scalingRuns = 3

    @Option(help: "Runs of the supervisor start-up measurement.")
    var startupRuns = 3

    @Option(help: "Idle-latency samples of this project's worker (per at-least-once setting).")
    var latencySamples = 200

    @Option(help: "Idle-latency samples of Python sergeant's worker (it sleeps a second when idle).")
    var pythonLatencySamples = 20

    @Option(help: "Directory holding the release sergeant-host and sergeant-bench.")
    var bin = ".build-bench/release"

    @Option(help: "The benchmark plugin.")
    var plugin = "Plugins-Examples/benchmark/.build/release/libbenchmark.so"

    @Option(help: "A Python with sergeant 0.27 installed.")
    var python = ".venv-sergeant/bin/python"

    @Option(help: "The raw hiredis loop (bench/raw_redis.c, compiled).")
    var raw = ".build-bench/raw_redis"

    @Option(help: "Directory of the Python benchmark files.")
    var benchDirectory = "bench"

    @Flag(inversion: .prefixedNo, help: "Run the peers' rows (Sidekiq, RQ, Dramatiq) among the main rows.")
    var peers = true

    @Option(help: "Jobs per peer sample (ratios compare seconds per task).")
    var peerTasks = 10_000

    @Option(help: "A Python with rq and dramatiq installed (the peers' venv).")
    var peerPython = ".venv-peers/bin/python"

    @Option(help: "The Ruby that has Sidekiq (Debian's ruby-sidekiq).")
    var ruby = "ruby"

    @Option(help: "The sidekiq CLI.")
    var sidekiq = "sidekiq"

    @Flag(inversion: .prefixedNo, help: "Count instructions per task (valgrind callgrind) of each main row of this project.")
    var callgrind = true

    @Option(help: "Tasks of a callgrind run.")
    var callgrindTasks = 5_000

    @Option(help: "Tasks of the callgrind run subtracted from it (its start-up).")
    var callgrindBaseline = 1_000

    @Option(help: "Tasks of an IO-bound row (each waits 20 ms).")
    var ioTasks = 20_000

    @Option(help: "Tasks of a concurrent producers row.")
    var producerTasks = 100_000

    @Option(help: "Sections to run, comma separated: main, scaling, cluster, tls, io, producers, startup, latency, local, sentinel.")
    var sections = "main,scaling,cluster,tls,io,producers,startup,latency,local,sentinel"

    @Option(help: "Write the results as CSV here too.")
    var csv: String?

    @Option(help: "Write the table here too.")
    var table: String?

    @Option(help: "The code measured (commit), for the table's header.")
    var revision: String?

    func validate() throws {
        guard tasks >= 1, ioTasks >= 1, producerTasks >= 1, runs >= 1, scalingRuns >= 1, startupRuns >= 1, latencySamples >= 1, pythonLatencySamples >= 1, peerTasks >= 1 else {
            throw ValidationError("--tasks, --io-tasks, --producer-tasks, --peer-tasks, --runs, --scaling-runs, --startup-runs and the sample counts must be at least 1")
        }
        guard callgrindBaseline >= 1, callgrindTasks > callgrindBaseline else {
            throw ValidationError("--callgrind-tasks (\(callgrindTasks)) must exceed --callgrind-baseline (\(callgrindBaseline)), which is at least 1")
        }
    }

    func run() throws {
        let wanted = Set(sections.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        LiveGroups.installCleanup()
        let bench = try Bench(options: self)
        let loadAtStart = loadAverage()
        let started = unixTime()
        var failed = false

        var rows: [Row] = []
        if wanted.contains("main") {
            let main = bench.mainRows()
            failed = runInterleaved(main, runs: runs, title: "main rows") || failed
            if callgrind {
                say("== instructions per task (callgrind, \(callgrindTasks) - \(callgrindBaseline) tasks)")
                bench.countInstructions(main)
                failed = failed || main.contains { $0.callgrindError != nil }
            }
            rows += main
        }
        if wanted.contains("scaling") {
            let scaling = try bench.scalingRows()
            failed = runInterleaved(scaling, runs: scalingRuns, title: "scaling rows") || failed
            rows += scaling
        }
        if wanted.contains("cluster") {
            let cluster = try bench.clusterRows()
            failed = runInterleaved(cluster, runs: scalingRuns, title: "cluster rows") || failed
            rows += cluster
        }
        if wanted.contains("tls") {
            let tls = try bench.tlsRows()
            failed = runInterleaved(tls, runs: runs, title: "tls rows") || failed
            rows += tls
        }
        if wanted.contains("io") {
            let io = bench.ioRows()
            failed = runInterleaved(io, runs: runs, title: "io-bound rows") || failed
            rows += io
        }
        if wanted.contains("producers") {
            let producers = bench.producerRows()
            failed = runInterleaved(producers, runs: runs, title: "concurrent producers rows") || failed
            rows += producers
        }
        var extras: [Extra] = []
        if wanted.contains("startup") {
            extras += measureExtras(title: "supervisor start-up") { try bench.startupExtras(runs: startupRuns) }
        }
        if wanted.contains("local") {
            extras += measureExtras(title: "local connector") { try bench.localConnectorExtras(tasks: 10_000, runs: runs) }
        }
        if wanted.contains("sentinel") {
            extras += measureExtras(title: "sentinel") { try bench.sentinelExtras(tasks: 2_000, runs: runs) }
        }
        if wanted.contains("latency") {
            extras += measureExtras(title: "idle latency") {
                try bench.latencyExtras(samples: latencySamples, pythonSamples: pythonLatencySamples)
            }
        }
        failed = failed || extras.contains { $0.error != nil }

        let report = Report(rows: rows, extras: extras, context: bench.describe(loadAtStart: loadAtStart,
                                                                                 loadAtEnd: loadAverage(),
                                                                                 minutes: (unixTime() - started) / 60,
                                                                                 runs: runs, scalingRuns: scalingRuns,
                                                                                 revision: revision))
        say("")
        say(report.table())
        for (path, text) in [(csv, report.csv()), (table, report.table() + "\n")] {
            guard let path else { continue }
            let temporary = path + ".tmp"
            try text.write(toFile: temporary, atomically: false, encoding: .utf8)
            guard rename(temporary, path) == 0 else { throw SupportError("cannot write \(path)") }
            say("wrote \(path)")
        }
        if failed { throw ExitCode(1) }
    }

    /// Runs every row once per run, in order, so the systems alternate; returns true when
    /// a sample failed.
    func runInterleaved(_ rows: [Row], runs: Int, title: String) -> Bool {
        var failed = false
        for run in 1...runs {
            say("== \(title), run \(run)/\(runs)")
            for row in rows {
                do {
                    let sample = try row.measure()
                    row.samples.append(sample)
                    say("  \(row.label): \(String(format: "%.3f", sample.seconds)) s")
                } catch {
                    row.errors.append("\(error)")
                    failed = true
                    say("  \(row.label): FAILED: \(error)")
                }
            }
        }
        return failed
    }

    func measureExtras(title: String, _ body: () throws -> [Extra]) -> [Extra] {
        say("== \(title)")
        do {
            let extras = try body()
            for extra in extras { say("  \(extra.label): \(extra.summary)") }
            return extras
        } catch {
            say("  FAILED: \(error)")
            return [Extra(section: title, label: title, system: .this, error: "\(error)")]
        }
    }

    func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}

/// Prints a line at once (unbuffered), so progress shows while the benchmark runs.
func say(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let result = bytes[written...].withUnsafeBytes { write(1, $0.baseAddress, $0.count) }
        guard result > 0 else { return }
        written += result
    }
}

/// VmHWM of this process from /proc/self/status, in kB (0 when unreadable).
func peakResidentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.filter(\.isNumber)) ?? 0
}
