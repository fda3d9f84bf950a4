import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - SoakRun

/// One executor's soak: a private redis-server, one sergeant-host with the benchmark plugin
/// and `workers` worker processes, and a producer that keeps the queue topped up to `depth`
/// tasks in chunks (at most `rate` a second, when set) until `tasks` are pushed. Every
/// `interval` seconds each worker's and the supervisor's VmRSS and open descriptors, and
/// Redis's used_memory, are sampled. Warm-up ends with the first sample after both `warmUp`
/// of the tasks and `warmUpSeconds` (a worker opens its heartbeat connection 5 s in). The
/// run ends when every task was worked (the workers' report lines add up), with a last,
/// idle sample.
final class SoakRun {
    let settings: SoakSettings
    let executor: SoakExecutor
    /// Errors only: the private redis-server persists nothing on purpose, which the broker warns about.
    private let logger: Logger = {
        var logger = Logger(label: "sergeant-soak")
        logger.logLevel = .error
        return logger
    }()
    private let kwargs: ValueMap = ["some_parameter": "one"]
    private(set) var samples: [SoakSample] = []
    /// Seconds from the first push to the last task's end.
    private(set) var seconds = 0.0
    /// Tasks the workers reported as worked.
    private(set) var worked = 0
    /// Per process, its descriptors at the baseline sample, then those opened after it.
    private var baselineDescriptors: [pid_t: [String]] = [:]
    private(set) var newDescriptors: [pid_t: [String]] = [:]

    init(settings: SoakSettings, executor: SoakExecutor) {
        self.settings = settings
        self.executor = executor
    }

    /// Runs the soak; throws when it cannot be set up or does not finish in time.
    func execute() throws {
        let redis = try RedisServer(options: RedisServer.Options(ownProcessGroup: true))
        defer { redis.stop() }
        let connection = RedisConnection(node: redis.node, logger: logger, reconnectTimeout: 10)
        let broker = Broker(connector: RedisConnector(nodes: [redis.node], logger: logger, reconnectTimeout: 10),
                            encoder: TaskEncoder())
        let report = NSTemporaryDirectory() + "sergeant-soak-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: report) }
        var environment = [
            "BENCH_REDIS_PORTS": String(redis.port),
            "BENCH_QUEUE": settings.queue,
            "BENCH_TASKS_PER_TRANSACTION": String(settings.tasksPerTransaction),
            "BENCH_REPORT": report,
        ]
        environment.merge(executor.pluginEnvironment(threads: settings.threads)) { $1 }
        let host = try ChildProcess([settings.bin + "/sergeant-host", "--worker-module=\(settings.plugin)", "--worker-class=Worker",
                                     "--concurrent-workers=\(settings.workers)"],
                                    environment: environment, processGroup: true)
        defer { stop(host) }
        var workers: [pid_t] = []
        try waitUntil(timeout: 30, "\(settings.workers) worker processes of sergeant-host") {
            guard host.isRunning else { throw SoakError("sergeant-host exited at start:\n\(host.output.suffix(3000))") }
            workers = ProcessProbe.children(of: host.pid)
            return workers.count == settings.workers
        }

        let started = Date()
        let deadline = started.addingTimeInterval(settings.timeout)
        var pushed = 0
        var nextSample = started
        let warmUpTasks = Int(Double(settings.tasks) * settings.warmUp)
        var phase = SoakSample.Phase.warmUp
        let chunk = (0..<settings.chunk).map { _ in SergeantTask(kwargs: kwargs) }
        while true {
            let depth = try broker.count(queue: settings.queue, includeDelayed: false)
            // The report is read once the queue is dry: the workers write it when they starve.
            let done = pushed == settings.tasks && depth == 0 ? reportedTotal(report) : 0
            let finished = done >= settings.tasks
            // A due sample comes before the next push, so a producer that cannot get ahead
            // of the workers still samples on time.
            if Date() >= nextSample || finished {
                let taken = finished ? settings.tasks : pushed - depth
                if phase == .warmUp && taken >= warmUpTasks && Date().timeIntervalSince(started) >= settings.warmUpSeconds {
                    phase = .load
                }
                if finished { phase = .idle }
                try sample(host: host, workers: workers, connection: connection, elapsed: Date().timeIntervalSince(started),
                           worked: taken, depth: depth, phase: phase)
                nextSample = nextSample.addingTimeInterval(settings.interval)
                if nextSample < Date() { nextSample = Date().addingTimeInterval(settings.interval) }
            }
            let allowed = settings.rate.map { settings.chunk + Int($0 * Date().timeIntervalSince(started)) } ?? settings.tasks
            if !finished && pushed < min(settings.tasks, allowed) && depth <= settings.depth - settings.chunk {
                let count = min(settings.chunk, settings.tasks - pushed)
                try broker.push(tasks: count == chunk.count ? chunk : Array(chunk.prefix(count)), queue: settings.queue)
                pushed += count
                continue
            }
            if finished {
                worked = done
                seconds = reportedSeconds(report)
                return
            }
            guard !interrupted else { throw SoakError("interrupted") }
            guard host.isRunning else { throw SoakError("sergeant-host ended during the soak:\n\(host.output.suffix(3000))") }
            guard Date() < deadline else {
                throw SoakError("\(executor.rawValue): \(pushed - depth) of \(settings.tasks) tasks worked after \(Int(settings.timeout)) s "
                                + "(raise --timeout on a busy machine); sergeant-host's output:\n\(host.output.suffix(3000))")
            }
            usleep(2_000)
        }
    }

    /// One row per worker and one for the supervisor. A worker that is gone or was replaced
    /// is an error: its figures would not be comparable.
    private func sample(host: ChildProcess, workers: [pid_t], connection: RedisConnection, elapsed: Double,
                        worked: Int, depth: Int, phase: SoakSample.Phase) throws {
        let usedMemory = try redisUsedMemory(connection)
        let current = ProcessProbe.children(of: host.pid)
        guard current == workers else {
            throw SoakError("\(executor.rawValue): the worker processes changed from \(workers) to \(current) at \(Int(elapsed)) s "
                            + "(a worker died or was replaced); sergeant-host's output:\n\(host.output.suffix(3000))")
        }
        let processes = workers.map { ($0, SoakSample.Role.worker) } + [(host.pid, .supervisor)]
        for (pid, role) in processes {
            guard let resident = ProcessProbe.residentKilobytes(pid), let descriptors = ProcessProbe.openDescriptors(pid) else {
                throw SoakError("\(executor.rawValue): cannot read /proc/\(pid) (the \(role.rawValue) is gone)")
            }
            if phase != .warmUp { noteDescriptors(of: pid, count: descriptors) }
            samples.append(SoakSample(executor: executor, elapsed: elapsed, worked: worked, depth: depth, role: role, pid: pid,
                                      residentKilobytes: resident, descriptors: descriptors, redisUsedMemory: usedMemory,
                                      phase: phase))
        }
    }

    /// Keeps what a process's descriptors point to at the baseline, and the ones it opened
    /// since once its count exceeds the baseline's (for the failure message).
    private func noteDescriptors(of pid: pid_t, count: Int) {
        guard let baseline = baselineDescriptors[pid] else {
            baselineDescriptors[pid] = ProcessProbe.descriptorTargets(pid)
            return
        }
        if count > baseline.count && newDescriptors[pid] == nil {
            newDescriptors[pid] = ProcessProbe.descriptorTargets(pid).filter { !baseline.contains($0) }
        }
    }

    /// `used_memory` of `INFO memory`.
    private func redisUsedMemory(_ connection: RedisConnection) throws -> Int {
        guard case .bytes(let bytes) = try connection.command("INFO", "memory") else {
            throw SoakError("INFO memory did not return text")
        }
        let text = String(decoding: bytes, as: UTF8.self)
        for line in text.split(whereSeparator: \.isNewline) where line.hasPrefix("used_memory:") {
            if let value = Int(line.dropFirst("used_memory:".count)) { return value }
        }
        throw SoakError("INFO memory has no used_memory line")
    }

    /// The benchmark plugin's report: the last `done PID COUNT FIRST LAST KB` line of each worker.
    private func reportedTotals(_ path: String) -> [Int: (count: Int, first: Double, last: Double)] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var totals: [Int: (count: Int, first: Double, last: Double)] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 6, words[0] == "done", let pid = Int(words[1]), let count = Int(words[2]),
                  let first = Double(words[3]), let last = Double(words[4]) else { continue }
            totals[pid] = (count, first, last)
        }
        return totals
    }

    private func reportedTotal(_ path: String) -> Int {
        reportedTotals(path).values.reduce(0) { $0 + $1.count }
    }

    /// From the first task's start to the last task's end, over the workers.
    private func reportedSeconds(_ path: String) -> Double {
        let working = reportedTotals(path).values.filter { $0.count > 0 }
        guard let first = working.map(\.first).min(), let last = working.map(\.last).max() else { return 0 }
        return last - first
    }

    /// SIGTERM to the supervisor (its workers finish and stop), then SIGKILL to the group;
    /// its output file goes (errors quote its end).
    private func stop(_ host: ChildProcess) {
        if host.isRunning {
            host.signal(SIGTERM)
            if host.wait(timeout: 20) == nil { kill(-host.pid, SIGKILL) }
        }
        kill(-host.pid, SIGKILL)
        try? FileManager.default.removeItem(atPath: host.outputPath)
    }
}
