import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - Bench

/// Everything one `make bench` run shares: the redis-servers, the paths, and how each
/// system is measured.
final class Bench {
    let options: RunBench
    let logger: Logger
    let redis: BenchRedis
    /// The second node of the two-node scaling rows, started when they run.
    private(set) var secondRedis: BenchRedis?
    /// The redis-server of the TLS rows (plain and TLS ports), started when they run.
    var tlsRedis: BenchRedis?
    /// The Redis Clusters of the cluster rows, by master count, started when they run.
    var clusters: [Int: RedisCluster] = [:]
    let hostPath: String
    let pushPath: String
    let workerPath: String
    let pluginPath: String
    let pythonPath: String
    let rawPath: String
    let benchDirectory: String
    /// The peers' programs and scripts; nil with `--no-peers`.
    let peerTools: PeerTools?
    /// valgrind, with `--callgrind`.
    let valgrindPath: String?
    let cores: Int
    /// Bytes of one task as this project encodes it (msgpack, no compressor): the payload
    /// size of the limit rows.
    let payloadBytes: Int
    /// The affinity redis-servers have now ("0" or every core).
    private var redisCores = ""

    init(options: RunBench) throws {
        self.options = options
        logger = Logger(label: "bench") { SergeantLogHandler(label: $0, level: .error) }
        let root = FileManager.default.currentDirectoryPath
        func absolute(_ path: String) -> String { path.hasPrefix("/") ? path : root + "/" + path }
        hostPath = absolute(options.bin + "/sergeant-host")
        pushPath = absolute(options.bin + "/sergeant-bench")
        workerPath = absolute(options.bin + "/sergeant-worker")
        pluginPath = absolute(options.plugin)
        pythonPath = absolute(options.python)
        rawPath = absolute(options.raw)
        benchDirectory = absolute(options.benchDirectory)
        for (path, what) in [(hostPath, "sergeant-host (release)"), (absolute(options.bin + "/sergeant-worker"), "sergeant-worker (release)"),
                             (pushPath, "sergeant-bench (release)"),
                             (pluginPath, "the benchmark plugin"), (pythonPath, "a Python with sergeant 0.27"),
                             (rawPath, "the raw hiredis loop"), (benchDirectory + "/python_bench.py", "bench/python_bench.py")]
        where !FileManager.default.fileExists(atPath: path) {
            throw SupportError("\(what) is missing at \(path); run `make bench`, which builds and installs it")
        }
        peerTools = options.peers ? try PeerTools(options: options, benchDirectory: benchDirectory, absolute: absolute) : nil
        if options.callgrind {
            guard let valgrind = try? which("valgrind") else {
                throw SupportError("--callgrind needs valgrind: apt-get install valgrind (`make bench` does), or pass --no-callgrind")
            }
            valgrindPath = valgrind
        } else {
            valgrindPath = nil
        }
        cores = Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))
        payloadBytes = SergeantTask(kwargs: benchKwargs).messagePack().count
        redis = try BenchRedis(logger: logger)
    }

    var allCores: String { "0-\(max(cores, 1) - 1)" }

    /// Pins (single rows) or frees (every other row) the redis-servers, and empties them.
    func prepare(pinned: Bool, nodes: [BenchRedis]? = nil) throws {
        let wanted = pinned ? "0" : allCores
        if wanted != redisCores {
            for server in [redis] + (secondRedis.map { [$0] } ?? []) { try server.pin(wanted) }
            redisCores = wanted
        }
        for server in nodes ?? [redis] + (secondRedis.map { [$0] } ?? []) { try server.flush() }
    }

    // MARK: Plans

    /// push one by one, push in bulk, consume 1 and 1,000 per transaction; per kind the
    /// systems alternate: this, python, this, python (msgpack, then msgpack+zlib), the peers
    /// (Sidekiq, RQ, Dramatiq; without `--no-peers`), limit.
    func mainRows() -> [Row] {
        var rows: [Row] = []
        for kind in [Kind.pushOne, .pushBulk, .consumeOne, .consumeBatch] {
            for compressor in ["none", "zlib"] {
                if kind == .pushOne || kind == .pushBulk {
                    // A push does not depend on at_least_once: one row.
                    rows.append(Row(section: "main", kind: kind, system: .this, compressor: compressor,
                                    tasks: options.tasks) { [unowned self] in
                        try self.pushThis(kind: kind, compressor: compressor)
                    })
                } else {
                    for atLeastOnce in [true, false] {
                        rows.append(Row(section: "main", kind: kind, system: .this, compressor: compressor, atLeastOnce: atLeastOnce,
                                        tasks: options.tasks) { [unowned self] in
                            try self.consumeThis(perTransaction: kind == .consumeOne ? 1 : 1000, compressor: compressor,
                                                 atLeastOnce: atLeastOnce, pinned: kind.isSingle)
                        })
                    }
                }
                rows.append(Row(section: "main", kind: kind, system: .python, compressor: compressor,
                                tasks: options.tasks) { [unowned self] in
                    switch kind {
                    case .pushOne, .pushBulk: return try self.pushPython(kind: kind, compressor: compressor)
                    case .consumeOne, .consumeBatch:
                        return try self.consumePython(perTransaction: kind == .consumeOne ? 1 : 1000, compressor: compressor,
                                                      pinned: kind.isSingle)
                    }
                })
            }
            rows += peerRows(kind: kind)
            let detail: String
            switch kind {
            case .pushOne: detail = "hiredis C loop, RPUSH one per round trip"
            case .consumeOne: detail = "hiredis C loop, LPOP one per round trip"
            case .pushBulk: detail = "redis-benchmark -c 1 -P 1000 -t rpush"
            case .consumeBatch: detail = "redis-benchmark -c 1 -P 1000 -t lpop"
            }
            rows.append(Row(section: "main", kind: kind, system: .limit, detail: detail,
                            tasks: options.tasks) { [unowned self] in
                kind.isSingle ? try self.limitSingle(kind: kind) : try self.limitBatch(kind: kind)
            })
            if kind == .consumeBatch {
                // What one consumer can pop: the batch rows' own round trip, with no framework.
                rows.append(Row(section: "main", kind: kind, system: .limit, detail: Self.batchPopLoop,
                                tasks: options.tasks) { [unowned self] in try self.limitLoop("lpop1000", pinned: false) })
            }
        }
        return rows
    }

    /// consume 1,000 per transaction with at-least-once on, unpinned: 1, 2, 4, 8 workers;
    /// 4 and 16 threads; two redis nodes.
    func scalingRows() throws -> [Row] {
        if secondRedis == nil {
            secondRedis = try BenchRedis(logger: logger)
            redisCores = ""
        }
        let configurations: [(workers: Int, threads: Int, nodes: Int)] = [
            (1, 1, 1), (2, 1, 1), (4, 1, 1), (8, 1, 1), (1, 4, 1), (1, 16, 1), (1, 1, 2), (2, 1, 2),
        ]
        return configurations.map { configuration in
            let detail = "\(configuration.workers) worker\(configuration.workers == 1 ? "" : "s") x "
                + "\(configuration.threads) thread\(configuration.threads == 1 ? "" : "s") x "
                + "\(configuration.nodes) redis node\(configuration.nodes == 1 ? "" : "s")"
            return Row(section: "scaling", kind: .consumeBatch, system: .this, compressor: "none", atLeastOnce: true,
                       workers: configuration.workers, threads: configuration.threads, nodes: configuration.nodes,
                       detail: detail, tasks: options.tasks) { [unowned self] in
                try self.consumeThis(perTransaction: 1000, compressor: "none", atLeastOnce: true, pinned: false,
                                     workers: configuration.workers, threads: configuration.threads,
                                     nodes: configuration.nodes == 2 ? [self.redis, self.secondRedis!] : [self.redis])
            }
        }
    }

    // MARK: Push

    func pushThis(kind: Kind, compressor: String) throws -> Sample {
        try prepare(pinned: kind.isSingle)
        let result = try Spawned.run([pushPath, "push", "--port", String(redis.port), "--mode", kind == .pushOne ? "one" : "bulk",
                                      "--compressor", compressor, "--tasks", String(options.tasks)],
                                     cores: kind.isSingle ? "0" : nil)
        return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
    }

    func pushPython(kind: Kind, compressor: String) throws -> Sample {
        try prepare(pinned: kind.isSingle)
        let result = try Spawned.run([pythonPath, benchDirectory + "/python_bench.py", "push", "--mode", kind == .pushOne ? "one" : "bulk",
                                      "--tasks", String(options.tasks)],
                                     environment: pythonEnvironment(compressor: compressor, perTransaction: 1, report: nil),
                                     cores: kind.isSingle ? "0" : nil)
        return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
    }

    // MARK: Consume

    /// Fills the queue (untimed) as this project's producer does; on two nodes in chunks, so
    /// the round robin spreads them.
    func fillThis(compressor: String, nodes: [BenchRedis], tasks: Int) throws {
        let broker = Broker(connector: RedisConnector(nodes: nodes.map(\.node), logger: logger),
                            encoder: TaskEncoder(compressor: compressor == "none" ? nil : Compressor(rawValue: compressor)))
        let chunk = nodes.count > 1 ? 1000 : tasks
        var left = tasks
        while left > 0 {
            let count = min(chunk, left)
            try broker.push(tasks: (0..<count).map { _ in SergeantTask(kwargs: benchKwargs) }, queue: benchQueue)
            left -= count
        }
    }

    func pluginEnvironment(nodes: [BenchRedis], perTransaction: Int, compressor: String, atLeastOnce: Bool,
                           threads: Int, report: String) -> [String: String] {
        [
            "BENCH_REDIS_PORTS": nodes.map { String($0.port) }.joined(separator: ","),
            "BENCH_QUEUE": benchQueue,
            "BENCH_TASKS_PER_TRANSACTION": String(perTransaction),
            "BENCH_COMPRESSOR": compressor,
            "BENCH_AT_LEAST_ONCE": atLeastOnce ? "1" : "0",
            "BENCH_THREADS": String(threads),
            "BENCH_REPORT": report,
        ]
    }

    func pythonEnvironment(compressor: String, perTransaction: Int, report: String?) -> [String: String] {
        var environment = [
            "BENCH_REDIS_PORTS": String(redis.port),
            "BENCH_QUEUE": benchQueue,
            "BENCH_TASKS_PER_TRANSACTION": String(perTransaction),
            "BENCH_COMPRESSOR": compressor,
            "PYTHONPATH": benchDirectory,
            "PYTHONDONTWRITEBYTECODE": "1",
        ]
        if let report { environment["BENCH_REPORT"] = report }
        return environment
    }

    /// Starts the release sergeant-host with the benchmark plugin.
    func startHost(workers: Int, environment: [String: String], pinned: Bool) throws -> Spawned {
        try Spawned([hostPath, "--worker-module=\(pluginPath)", "--worker-class=Worker", "--concurrent-workers=\(workers)"],
                    environment: environment, cores: pinned ? "0" : nil)
    }

    /// Starts Python sergeant's supervisor with the benchmark worker.
    func startPythonSupervisor(workers: Int, environment: [String: String], pinned: Bool) throws -> Spawned {
        try Spawned([pythonPath, "-m", "sergeant.supervisor", "--worker-module=sergeant_bench_worker", "--worker-class=Worker",
                     "--concurrent-workers=\(workers)"], environment: environment, cores: pinned ? "0" : nil)
    }

    func consumeThis(perTransaction: Int, compressor: String, atLeastOnce: Bool, pinned: Bool,
                     workers: Int = 1, threads: Int = 1, nodes: [BenchRedis]? = nil, redisURL: String? = nil) throws -> Sample {
        let nodes = nodes ?? [redis]
        try prepare(pinned: pinned, nodes: nodes)
        try fillThis(compressor: compressor, nodes: nodes, tasks: options.tasks)
        let report = ReportFile()
        var environment = pluginEnvironment(nodes: nodes, perTransaction: perTransaction, compressor: compressor,
                                            atLeastOnce: atLeastOnce, threads: threads, report: report.path)
        // The plugin's nodes replaced (--redis's variable): a rediss:// URL for the TLS rows.
        if let redisURL { environment["SERGEANT_REDIS"] = redisURL }
        let host = try startHost(workers: workers, environment: environment, pinned: pinned)
        defer { host.stop() }
        return try waitForTotals(report, process: host)
    }

    func consumePython(perTransaction: Int, compressor: String, pinned: Bool) throws -> Sample {
        try prepare(pinned: pinned)
        let report = ReportFile()
        let environment = pythonEnvironment(compressor: compressor, perTransaction: perTransaction, report: report.path)
        _ = try Spawned.run([pythonPath, benchDirectory + "/python_bench.py", "fill", "--tasks", String(options.tasks)],
                            environment: environment)
        let supervisor = try startPythonSupervisor(workers: 1, environment: environment, pinned: pinned)
        defer { supervisor.stop(grace: 0) }
        return try waitForTotals(report, process: supervisor)
    }

    /// Waits until the workers' `done` reports add up to every task; the time is from the
    /// first task's start (any worker) to the last task's end (any worker).
    func waitForTotals(_ report: ReportFile, process: Spawned, tasks: Int? = nil, secondsPerTask: Double = 0.002) throws -> Sample {
        let tasks = tasks ?? options.tasks
        let limit = 60 + Double(tasks) * secondsPerTask
        let deadline = unixTime() + limit
        var polls = 0
        while unixTime() < deadline {
            let lines = report.read()
            let done = lines.done
            if done.values.reduce(0, { $0 + $1.count }) >= tasks {
                let working = done.values.filter { $0.count > 0 }
                let first = working.map(\.first).min() ?? 0
                let last = working.map(\.last).max() ?? 0
                return Sample(seconds: last - first, peakKilobytes: working.map(\.peakKilobytes).max())
            }
            guard process.isRunning else {
                throw SupportError("the supervisor ended before the tasks were done:\n\(process.output.suffix(3000))")
            }
            polls += 1
            if polls % 20 == 0, let error = process.output.split(separator: "\n").first(where: { $0.contains(" ERROR ") || $0.contains(" CRITICAL ") }) {
                // A worker that cannot read the tasks would only time out: stop at once.
                throw SupportError("a worker reported: \(error)")
            }
            usleep(50_000)
        }
        throw SupportError("the tasks were not done within \(Int(limit)) s; output:\n\(process.output.suffix(3000))")
    }

    // MARK: Limit

    func limitSingle(kind: Kind) throws -> Sample {
        try limitLoop(kind == .pushOne ? "rpush" : "lpop", pinned: true)
    }

    /// The detail of the batch consume rows' second limit: `raw_redis ... lpop1000`.
    static let batchPopLoop = "hiredis C loop, LPOP key 1000 per round trip"

    /// One run of the raw hiredis loop (bench/raw_redis.c) in `mode`: rpush, lpop or lpop1000.
    func limitLoop(_ mode: String, pinned: Bool) throws -> Sample {
        try prepare(pinned: pinned)
        let result = try Spawned.run([rawPath, String(redis.port), String(options.tasks), String(payloadBytes), mode],
                                     cores: pinned ? "0" : nil)
        return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
    }

    /// redis-benchmark pipelines 1,000 commands per round trip; LPOP runs after RPUSH, on
    /// the list RPUSH filled, so one run gives both figures.
    func limitBatch(kind: Kind) throws -> Sample {
        try prepare(pinned: false)
        let result = try Spawned.run(["redis-benchmark", "-h", "127.0.0.1", "-p", String(redis.port), "-q", "-c", "1", "-P", "1000",
                                      "-n", String(options.tasks), "-d", String(payloadBytes), "-t", "rpush,lpop"])
        let command = kind == .pushBulk ? "RPUSH" : "LPOP"
        let line = result.split(whereSeparator: { $0 == "\r" || $0 == "\n" })
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .last { $0.hasPrefix(command + ": ") && $0.contains("requests per second") }
        guard let rate = line.flatMap({ Double($0.dropFirst(command.count + 2).split(separator: " ").first ?? "") }), rate > 0 else {
            throw SupportError("no \(command) figure in redis-benchmark's output:\n\(result.suffix(2000))")
        }
        return Sample(seconds: Double(options.tasks) / rate, peakKilobytes: nil)
    }

    // MARK: Start-up and latency

    /// A supervisor with 8 workers: from its start to the first task done, and to every
    /// worker ready (its initialize ran), for both implementations.
    func startupExtras(runs: Int) throws -> [Extra] {
        var first: [System: [Double]] = [:]
        var ready: [System: [Double]] = [:]
        let workers = 8
        for _ in 0..<runs {
            for system in [System.this, .python] {
                try prepare(pinned: false)
                let report = ReportFile()
                let process: Spawned
                if system == .this {
                    try fillThis(compressor: "none", nodes: [redis], tasks: 1000)
                    process = try startHost(workers: workers, environment: pluginEnvironment(
                        nodes: [redis], perTransaction: 1, compressor: "none", atLeastOnce: true, threads: 1, report: report.path),
                                            pinned: false)
                } else {
                    let environment = pythonEnvironment(compressor: "none", perTransaction: 1, report: report.path)
                    _ = try Spawned.run([pythonPath, benchDirectory + "/python_bench.py", "fill", "--tasks", "1000"], environment: environment)
                    process = try startPythonSupervisor(workers: workers, environment: environment, pinned: false)
                }
                defer { process.stop(grace: system == .this ? 15 : 0) }
                var lines = report.read()
                try waitUntil(timeout: 60, "\(workers) \(system) workers to start and work a task") {
                    guard process.isRunning else { throw SupportError("the supervisor ended:\n\(process.output.suffix(3000))") }
                    lines = report.read()
                    return lines.ready.count >= workers && !lines.firstDone.isEmpty
                }
                first[system, default: []].append(lines.firstDone.values.min()! - process.started)
                ready[system, default: []].append(lines.ready.values.max()! - process.started)
            }
        }
        return [System.this, .python].flatMap { system in [
            Extra(section: "startup", label: "supervisor with \(workers) workers: start -> first task done", system: system,
                  median: median(first[system] ?? []) ?? 0, samples: first[system]?.count ?? 0),
            Extra(section: "startup", label: "supervisor with \(workers) workers: start -> all \(workers) workers ready", system: system,
                  median: median(ready[system] ?? []) ?? 0, samples: ready[system]?.count ?? 0),
        ] }
    }

    /// An idle worker: from a push (while it waits for work) to the start of `work`.
    func latencyExtras(samples: Int, pythonSamples: Int) throws -> [Extra] {
        var extras: [Extra] = []
        for (system, atLeastOnce) in [(System.this, true), (.this, false), (.python, false)] {
            let count = system == .python ? pythonSamples : samples
            let latencies = try idleLatencies(system: system, atLeastOnce: atLeastOnce, samples: count)
            let how = system == .python ? "polls: sleeps 1 s when the queue is empty"
                : atLeastOnce ? "at-least-once: blocks in BLMOVE" : "at-most-once: blocks in BLPOP"
            extras.append(Extra(section: "latency", label: "idle worker: push -> work start", system: system,
                                median: median(latencies) ?? 0, p99: percentile(latencies, 99), samples: latencies.count, note: how))
        }
        return extras
    }

    func idleLatencies(system: System, atLeastOnce: Bool, samples: Int) throws -> [Double] {
        try prepare(pinned: false)
        let report = ReportFile()
        let process = system == .this
            ? try startHost(workers: 1, environment: pluginEnvironment(nodes: [redis], perTransaction: 1, compressor: "none",
                                                                    atLeastOnce: atLeastOnce, threads: 1, report: report.path), pinned: false)
            : try startPythonSupervisor(workers: 1, environment: pythonEnvironment(compressor: "none", perTransaction: 1,
                                                                                   report: report.path), pinned: false)
        defer { process.stop(grace: system == .this ? 15 : 0) }
        try waitUntil(timeout: 60, "the \(system) worker to start") {
            guard process.isRunning else { throw SupportError("the supervisor ended:\n\(process.output.suffix(3000))") }
            return !report.read().ready.isEmpty
        }
        pause(seconds: 0.3)  // into its blocking wait (or its sleep)
        let broker = Broker(connector: RedisConnector(nodes: [redis.node], logger: logger), encoder: TaskEncoder())
        _ = try broker.count(queue: benchQueue, includeDelayed: false)  // connected before the first sample
        var latencies: [Double] = []
        for index in 0..<samples {
            // A pause the worker spends idle, waiting for the next task. Python's worker
            // sleeps a second whenever the queue is empty, so its pauses cover that second
            // (a uniformly random arrival); this project's worker blocks on the broker and
            // sees the push at any phase.
            pause(seconds: system == .python ? Double.random(in: 0.01...1.01) : Double.random(in: 0.01...0.04))
            let pushed = unixTime()
            try broker.push(tasks: [SergeantTask(kwargs: ["pushed_at": .double(pushed)])], queue: benchQueue)
            var lines = report.read()
            try waitUntil(timeout: 10, "the \(system) worker to start task \(index + 1)") {
                lines = report.read()
                return lines.latencies.count > index
            }
            latencies.append(lines.latencies[index].started - lines.latencies[index].pushed)
        }
        return latencies
    }

    // MARK: Description

    func describe(loadAtStart: String, loadAtEnd: String, minutes: Double, runs: Int, scalingRuns: Int,
                  revision: String?) -> Report.Context {
        let pythonVersion = (try? Spawned.run([pythonPath, "-c",
            "import importlib.metadata as m, platform; print(platform.python_version(), m.version('sergeant'))"]))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? "? ?"
        let words = pythonVersion.split(separator: " ")
        return Report.Context(tasks: options.tasks, runs: runs, scalingRuns: scalingRuns, cores: cores,
                              redisVersion: BenchRedis.version(), pythonVersion: words.first.map(String.init) ?? "?",
                              sergeantVersion: words.count > 1 ? String(words[1]) : "?", payloadBytes: payloadBytes,
                              loadAtStart: loadAtStart, loadAtEnd: loadAtEnd, minutes: minutes, revision: revision,
                              peerVersions: peerTools?.versions() ?? [:], peerTasks: options.peerTasks,
                              callgrindTasks: valgrindPath == nil ? nil : (options.callgrindTasks, options.callgrindBaseline))
    }
}

/// The number after `name` in `name VALUE` output.
func field(_ name: String, in output: String) throws -> Double {
    let words = output.split(whereSeparator: { $0 == " " || $0 == "\n" })
    guard let index = words.firstIndex(where: { $0 == name }), index + 1 < words.count, let value = Double(words[index + 1]) else {
        throw SupportError("no \(name) in the output:\n\(output.suffix(2000))")
    }
    return value
}
