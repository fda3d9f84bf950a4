import ArgumentParser
import Foundation
import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - sergeant-chaos

/// `make chaos`: fault injection against the real supervisor, worker processes and
/// redis-server. Numbered tasks and one poison task go through the `chaos` fixture plugin
/// (Tests/Fixtures/chaos) while workers, supervisors and redis-server are killed and
/// restarted at random; at the end every number must have run at least once and only the
/// poison task may be in the dead-letter list.
@main
struct ChaosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-chaos",
        abstract: "Fault injection: SIGKILL workers and supervisors, restart redis-server, then count lost tasks.",
        discussion: """
            Starts a private redis-server with an append-only file on a free port, pushes --tasks
            numbered tasks and one poison task (which aborts its worker every time), runs
            sergeant-host with the chaos fixture plugin, and while tasks remain injects up to
            --faults faults at random intervals: SIGKILL of a worker, SIGKILL of the supervisor
            (a new one is started), restart of redis-server on the same port and directory.
            Then it waits until the queue and the in-flight lists are empty and prints a summary.

            Exit code 0 when no task was lost and the dead-letter list holds exactly the poison
            task; 1 otherwise (including a run that does not drain before --timeout); 2 when the
            run could not be set up. Repeat a run's choices with --seed (process timing varies).
            """
    )

    @Option(help: "Numbered tasks to push (plus one poison task).")
    var tasks = 20_000

    @Option(help: "Worker processes (sergeant-host --concurrent-workers).")
    var workers = 4

    @Option(help: "Tasks per transaction of the workers (CHAOS_BATCH).")
    var batch = 10

    @Option(help: "Most faults to inject.")
    var faults = 40

    @Option(name: .customLong("min-interval"), help: "Fewest seconds between two faults.")
    var minInterval = 0.3

    @Option(name: .customLong("max-interval"), help: "Most seconds between two faults.")
    var maxInterval = 2.0

    @Option(name: .customLong("fault-kinds"), help: "Faults to choose from, comma-separated: worker, supervisor, redis.")
    var faultKinds = "worker,supervisor,redis"

    @Option(name: .customLong("redis-downtime"), help: "Most seconds redis-server stays down during a restart.")
    var redisDowntime = 1.5

    @Option(help: "Seed of the random choices (printed at start; random when left out).")
    var seed: UInt64?

    @Option(help: "Seconds the whole run may take once the tasks are pushed.")
    var timeout = 600.0

    @Option(help: "Queue name (CHAOS_QUEUE).")
    var queue = "chaos"

    @Option(help: "The chaos plugin (default: Tests/Fixtures/chaos/.build/debug/libchaos.so).")
    var plugin: String?

    @Option(help: "Directory holding sergeant and sergeant-host (default: SERGEANT_BIN, else this executable's directory).")
    var bin: String?

    @Option(name: .customLong("work-dir"), help: "Directory for redis data, logs and the output file (default: a new temporary one).")
    var workDir: String?

    @Flag(help: "Keep the work directory after a successful run (a failed run always keeps it).")
    var keep = false

    func validate() throws {
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard faults >= 0 else { throw ValidationError("--faults must not be negative") }
        guard minInterval >= 0, maxInterval >= minInterval else {
            throw ValidationError("--min-interval must be at least 0 and at most --max-interval")
        }
        guard redisDowntime >= 0, redisDowntime < 20 else {
            throw ValidationError("--redis-downtime must be between 0 and 20 s (workers give up on redis after 30 s)")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        _ = try kinds()
    }

    func kinds() throws -> [FaultKind] {
        let names = faultKinds.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let kinds = try names.map { name in
            guard let kind = FaultKind.allCases.first(where: { $0.option == name }) else {
                throw ValidationError("unknown fault kind \(name) in --fault-kinds; use worker, supervisor, redis")
            }
            return kind
        }
        guard !kinds.isEmpty else { throw ValidationError("--fault-kinds names no fault") }
        return kinds
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        installInterruptHandlers()
        let seed = seed ?? UInt64.random(in: 0...UInt64.max)
        let settings = ChaosSettings(
            tasks: tasks, workers: workers, batch: batch, maxFaults: faults, kinds: try kinds(), minInterval: minInterval,
            maxInterval: maxInterval, redisDowntime: redisDowntime, seed: seed, timeout: timeout, queue: queue,
            plugin: try plugin ?? ProjectPaths.fixturePackage("chaos"), bin: bin ?? defaultBinaries(),
            workDir: workDir, keep: keep
        )
        throw ExitCode(ChaosRun(settings).execute())
    }

    private func defaultBinaries() -> String {
        if let path = ProcessInfo.processInfo.environment["SERGEANT_BIN"] { return path }
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: executable).deletingLastPathComponent().path
    }
}

/// Everything a run was asked for.
struct ChaosSettings {
    var tasks: Int
    var workers: Int
    var batch: Int
    var maxFaults: Int
    var kinds: [FaultKind]
    var minInterval: Double
    var maxInterval: Double
    var redisDowntime: Double
    var seed: UInt64
    var timeout: Double
    var queue: String
    var plugin: String
    var bin: String
    var workDir: String?
    var keep: Bool
}

// MARK: - Interrupts

nonisolated(unsafe) private var interruptReceived: sig_atomic_t = 0

/// SIGINT and SIGTERM end the run early; everything started is still stopped.
private func installInterruptHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in interruptReceived = 1 }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
}

private var interrupted: Bool { interruptReceived != 0 }

// MARK: - Random numbers

/// SplitMix64: a small seeded generator, so a seed repeats a run's choices.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

// MARK: - Faults

/// The faults the suite injects.
enum FaultKind: String, CaseIterable {
    case workerKill = "worker SIGKILL"
    case supervisorKill = "supervisor SIGKILL"
    case redisRestart = "redis restart"

    /// The name --fault-kinds uses.
    var option: String {
        switch self {
        case .workerKill: return "worker"
        case .supervisorKill: return "supervisor"
        case .redisRestart: return "redis"
        }
    }
}

/// One injected fault, for the timeline and for attributing lost tasks.
struct FaultRecord {
    var number: Int
    var kind: FaultKind
    var time: Double
    var detail: String
}

// MARK: - Output tally

/// Reads the workers' output file incrementally and counts runs per task number.
final class OutputTally {
    let path: String
    let total: Int
    private(set) var runs: [Int32]
    private(set) var distinct = 0
    private(set) var lines = 0
    private(set) var highest = 0
    private(set) var invalid: [String] = []
    private var offset: off_t = 0
    private var partial: [UInt8] = []

    init(path: String, total: Int) {
        self.path = path
        self.total = total
        runs = Array(repeating: 0, count: total + 1)
    }

    /// Extra runs: lines beyond the first of each number.
    var duplicated: Int { lines - distinct }

    /// Reads what was appended since the last call (complete lines only).
    func update() {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        guard lseek(descriptor, offset, SEEK_SET) == offset else { return }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            offset += off_t(count)
            for byte in buffer[0..<count] {
                if byte == UInt8(ascii: "\n") {
                    record(partial)
                    partial.removeAll(keepingCapacity: true)
                } else {
                    partial.append(byte)
                }
            }
        }
    }

    private func record(_ line: [UInt8]) {
        guard let number = Int(String(decoding: line, as: UTF8.self)), number >= 1, number <= total else {
            if invalid.count < 20 { invalid.append(String(decoding: line.prefix(80), as: UTF8.self)) }
            return
        }
        lines += 1
        runs[number] += 1
        if runs[number] == 1 { distinct += 1 }
        highest = max(highest, number)
    }

    /// Numbers that never ran.
    var missing: [Int] { (1...total).filter { runs[$0] == 0 } }
}

// MARK: - Processes

/// What /proc says about a process: its parent and whether it still runs (a zombie does not).
func processStatus(_ pid: pid_t) -> (parent: pid_t, running: Bool)? {
    guard let text = readSmallFile("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count >= 2, let parent = pid_t(fields[1]) else { return nil }
    return (parent, fields[0] != "Z" && fields[0] != "X")
}

/// Live processes whose environment holds `token` (the run's unique CHAOS_OUTPUT entry): the
/// supervisors and workers of this run, including any that outlived their supervisor.
func processesCarrying(_ token: String) -> [pid_t] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    let needle = Array(token.utf8) + [0]
    var found: [pid_t] = []
    for entry in entries {
        guard let pid = pid_t(entry), pid != getpid(), let environment = readSmallBytes("/proc/\(pid)/environ") else { continue }
        let text = [0] + environment
        guard contains(text, [0] + needle), processStatus(pid)?.running == true else { continue }
        found.append(pid)
    }
    return found
}

private func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard needle.count <= haystack.count else { return false }
    var index = 0
    while index + needle.count <= haystack.count {
        if haystack[index] == needle[0] && haystack[index..<index + needle.count].elementsEqual(needle) { return true }
        index += 1
    }
    return false
}

private func readSmallBytes(_ path: String) -> [UInt8]? {
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var result: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 8192)
    while true {
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { break }
        result += buffer[0..<count]
    }
    return result
}

private func readSmallFile(_ path: String) -> String? {
    readSmallBytes(path).map { String(decoding: $0, as: UTF8.self) }
}

/// Where a task is in redis at the end of a run.
enum Location: String {
    case queue = "still queued"
    case processing = "still in flight"
    case dead = "in the dead-letter list"
    case nowhere = "nowhere (vanished)"
}

/// The run's failure to set up; the summary is still printed.
struct SetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

// MARK: - Append-only file

/// redis-server's append-only files (Redis 7: appendonlydir with a manifest), read back as
/// the list of write commands, to trace where a lost task went.
struct AppendOnlyFile {
    /// One write command.
    struct Command {
        /// Byte offset of the command in the concatenated incremental files.
        var offset: Int
        /// The command name, upper case.
        var name: String
        /// Arguments that are not tasks.
        var words: [String]
        /// Task numbers among the arguments.
        var tasks: [Int]
        /// Arguments that are tasks but not numbered ones (the poison task).
        var otherTasks: Int

        var summary: String {
            var text = ([name] + words).joined(separator: " ")
            if !tasks.isEmpty { text += " [\(tasks.count) task(s) \(tasks.first!)...\(tasks.last!)]" }
            if otherTasks > 0 { text += " [\(otherTasks) other task(s)]" }
            return text
        }
    }

    let directory: String

    init(directory: String) {
        self.directory = directory + "/appendonlydir"
    }

    /// The incremental files, in manifest order.
    var files: [String] {
        guard let manifest = try? String(contentsOfFile: "\(directory)/appendonly.aof.manifest", encoding: .utf8) else { return [] }
        return manifest.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 6, fields[0] == "file", fields[5] == "i" else { return nil }
            return "\(directory)/\(fields[1])"
        }
    }

    /// Bytes in the incremental files.
    var size: Int {
        files.reduce(0) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0)
        }
    }

    /// What an argument of a command is.
    enum Argument {
        case numbered(Int)
        case other
        case none
    }

    /// Every command; `classify` tells which arguments are tasks (or dead-letter entries).
    func commands(classify: ([UInt8]) -> Argument) -> [Command] {
        var bytes: [UInt8] = []
        for path in files { bytes += FileManager.default.contents(atPath: path).map { [UInt8]($0) } ?? [] }
        var result: [Command] = []
        var index = 0
        func readLine() -> Int? {
            var end = index
            while end + 1 < bytes.count && !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
            guard end + 1 < bytes.count else { return nil }
            let value = Int(String(decoding: bytes[(index + 1)..<end], as: UTF8.self))
            index = end + 2
            return value
        }
        while index < bytes.count {
            let offset = index
            guard bytes[index] == UInt8(ascii: "*"), let count = readLine() else { break }
            var arguments: [[UInt8]] = []
            for _ in 0..<count {
                guard index < bytes.count, bytes[index] == UInt8(ascii: "$"), let length = readLine(), index + length <= bytes.count else {
                    return result
                }
                arguments.append(Array(bytes[index..<index + length]))
                index += length + 2
            }
            guard let first = arguments.first else { continue }
            var command = Command(offset: offset, name: String(decoding: first, as: UTF8.self).uppercased(), words: [], tasks: [], otherTasks: 0)
            for argument in arguments.dropFirst() {
                switch argument.count > 16 ? classify(argument) : .none {
                case .numbered(let n): command.tasks.append(n)
                case .other: command.otherTasks += 1
                case .none: command.words.append(String(decoding: argument.prefix(60), as: UTF8.self))
                }
            }
            result.append(command)
        }
        return result
    }
}

// MARK: - ChaosRun

/// One fault-injection run: set up, push, run and break things, drain, report, clean up.
final class ChaosRun {
    let settings: ChaosSettings
    private var random: SplitMix64
    private let started = unixTime()
    private let directory: String
    private let dataDirectory: String
    private let outputPath: String
    private let marker: String
    private var port = 0
    private var redis: ChildProcess?
    private var redisStarts = 0
    private var host: ChildProcess?
    private var hostStarts = 0
    private var unexpectedHostExits = 0
    private var status: RedisConnection?
    private let tally: OutputTally
    private var faults: [FaultRecord] = []
    private var frontierSamples: [(time: Double, highest: Int)] = []
    private var anomalies: [String] = []
    /// Size of the AOF when each redis restart stopped the server.
    private var restartOffsets: [Int] = []
    private var drained = false
    private var setupFailure: String?
    private let quiet = Logger(label: "sergeant-chaos") { _ in SwiftLogNoOpLogHandler() }

    init(_ settings: ChaosSettings) {
        self.settings = settings
        random = SplitMix64(seed: settings.seed)
        directory = settings.workDir ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("sergeant-chaos-\(getpid())-\(UUID().uuidString.prefix(8))").path
        dataDirectory = directory + "/redis"
        outputPath = directory + "/output.txt"
        marker = "\(settings.seed)-\(UUID().uuidString)"
        tally = OutputTally(path: outputPath, total: settings.tasks)
    }

    private var queue: String { settings.queue }
    private var elapsed: Double { unixTime() - started }
    private var deadline: Double { started + settings.timeout }
    private var hostEnvironmentToken: String { "CHAOS_OUTPUT=\(outputPath)" }

    private func say(_ line: String) {
        print(String(format: "[%7.2fs] ", elapsed) + line)
        fflush(nil)
    }

    /// Runs everything and returns the exit code.
    func execute() -> Int32 {
        print("sergeant-chaos: seed \(settings.seed) (repeat with --seed \(settings.seed)); tasks \(settings.tasks) + 1 poison,"
              + " \(settings.workers) workers, batch \(settings.batch), up to \(settings.maxFaults) faults every"
              + " \(settings.minInterval)-\(settings.maxInterval) s, timeout \(Int(settings.timeout)) s")
        print("work directory: \(directory)")
        fflush(nil)
        do {
            try setUp()
            try pushTasks()
            try startHost()
            try waitForFirstOutput()
            injectFaults()
            waitUntilDrained()
            stopHost()
        } catch {
            setupFailure = "\(error)"
            say("run aborted: \(error)")
        }
        let code = report()
        cleanUp(success: code == 0)
        return code
    }

    // MARK: Set-up

    private func setUp() throws {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        guard FileManager.default.createFile(atPath: outputPath, contents: nil) else {
            throw SetupError("cannot create \(outputPath)")
        }
        for name in ["sergeant", "sergeant-host", "sergeant-worker"] where !FileManager.default.isExecutableFile(atPath: "\(settings.bin)/\(name)") {
            throw SetupError("\(settings.bin)/\(name) is missing; build it first (make chaos does)")
        }
        guard FileManager.default.fileExists(atPath: settings.plugin) else {
            throw SetupError("\(settings.plugin) is missing; build it with `swift build --package-path Tests/Fixtures/chaos`")
        }
        port = try freePort()
        try startRedis()
        status = RedisConnection(node: RedisNode(host: "127.0.0.1", port: port), logger: quiet, reconnectTimeout: 20)
        guard case .status("OK") = try command("SET", "\(queue).chaos-marker", marker) else {
            throw SetupError("cannot write to redis-server")
        }
    }

    private func startRedis() throws {
        redisStarts += 1
        let server = try ChildProcess([try which("redis-server"), "--port", String(port), "--bind", "127.0.0.1",
                                       "--dir", dataDirectory, "--save", "", "--appendonly", "yes",
                                       // One growing AOF, so lost tasks can be traced through it.
                                       "--auto-aof-rewrite-percentage", "0", "--loglevel", "warning"],
                                      output: "\(directory)/redis-\(redisStarts).log")
        redis = server
        let connection = RedisConnection(node: RedisNode(host: "127.0.0.1", port: port), logger: quiet, reconnectTimeout: 0)
        let limit = unixTime() + 30
        while unixTime() < limit {
            if let reply = try? connection.command("PING"), reply == .status("PONG") { return }
            guard server.isRunning else { throw SetupError("redis-server exited at start; see \(server.outputPath)") }
            pause(seconds: 0.02)
        }
        throw SetupError("redis-server on port \(port) did not answer PING within 30 s")
    }

    private func command(_ words: String...) throws -> RedisReply {
        guard let status else { throw SetupError("no redis connection") }
        return try status.command(words.map { Array($0.utf8) })
    }

    private func integer(_ words: String...) -> Int? {
        guard let status, case .integer(let value) = try? status.command(words.map { Array($0.utf8) }) else { return nil }
        return Int(value)
    }

    private func pushTasks() throws {
        let node = RedisNode(host: "127.0.0.1", port: port)
        let broker = Broker(connector: RedisConnector(nodes: [node], logger: quiet), encoder: EncoderConfig().taskEncoder)
        _ = try broker.purge(queue: queue)
        // The poison task goes somewhere in the middle, through the real producer CLI.
        let poisonAfter = Int.random(in: settings.tasks / 3...max(settings.tasks / 3, 2 * settings.tasks / 3), using: &random)
        func pushNumbers(_ range: ClosedRange<Int>) throws {
            var next = range.lowerBound
            while next <= range.upperBound {
                let last = min(next + 999, range.upperBound)
                try broker.push(tasks: (next...last).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: queue)
                next = last + 1
            }
        }
        if poisonAfter >= 1 { try pushNumbers(1...poisonAfter) }
        let producer = try ChildProcess([settings.bin + "/sergeant", "push", "--worker-module=\(settings.plugin)",
                                         "--worker-class=ChaosWorker", "--kwargs", #"{"poison": true}"#],
                                        environment: hostEnvironment(), output: "\(directory)/push.log")
        let code = producer.wait(timeout: 60)
        guard code == 0 else {
            throw SetupError("sergeant push of the poison task failed (\(code.map(String.init) ?? "timed out")): \(producer.output)")
        }
        if poisonAfter < settings.tasks { try pushNumbers(poisonAfter + 1...settings.tasks) }
        let queued = integer("LLEN", queue) ?? -1
        guard queued == settings.tasks + 1 else { throw SetupError("pushed \(settings.tasks + 1) tasks but the queue holds \(queued)") }
        say("pushed \(settings.tasks) numbered tasks and the poison task (after task \(poisonAfter)) to \(queue) on port \(port)")
    }

    private func hostEnvironment() -> [String: String] {
        ["SERGEANT_REDIS": "redis://127.0.0.1:\(port)/0", "CHAOS_QUEUE": queue, "CHAOS_BATCH": String(settings.batch),
         "CHAOS_OUTPUT": outputPath]
    }

    private func startHost() throws {
        hostStarts += 1
        host = try ChildProcess([settings.bin + "/sergeant-host", "--worker-module=\(settings.plugin)", "--worker-class=ChaosWorker",
                                 "--concurrent-workers=\(settings.workers)"],
                                environment: hostEnvironment(), output: "\(directory)/host-\(hostStarts).log")
    }

    private func waitForFirstOutput() throws {
        let limit = unixTime() + 60
        while tally.lines == 0 {
            guard !interrupted else { throw SetupError("interrupted") }
            guard unixTime() < limit else { throw SetupError("no task ran within 60 s of starting sergeant-host; see \(host?.outputPath ?? "")") }
            if let host, !host.isRunning {
                throw SetupError("sergeant-host exited at start with code \(host.wait(timeout: 1) ?? -1):\n\(host.output)")
            }
            pause(seconds: 0.02)
            tally.update()
        }
        say("workers are running (sergeant-host pid \(host?.pid ?? 0))")
    }

    // MARK: Faults

    private func injectFaults() {
        guard settings.maxFaults > 0 else { return }
        // Every kind once first (in a seeded order), then any kind.
        var plan = FaultKind.allCases.filter(settings.kinds.contains).shuffled(using: &random)
        var nextFault = unixTime() + nextInterval()
        var idleSince: Double?
        var nextLook = 0.0
        while faults.count < settings.maxFaults && !interrupted && unixTime() < deadline {
            observe()
            if tally.distinct >= settings.tasks { break }
            // Tasks remain while some are queued or in flight; missing ones that are neither
            // (lost, or set aside) leave nothing to break.
            if unixTime() >= nextLook {
                nextLook = unixTime() + 0.5
                if let counts = redisCounts(), counts.queued + counts.delayed + counts.inFlight + counts.timedOut == 0 {
                    idleSince = idleSince ?? unixTime()
                    if unixTime() - idleSince! >= 2 { break }
                } else {
                    idleSince = nil
                }
            }
            if unixTime() >= nextFault {
                let kind = plan.isEmpty ? randomKind() : plan.removeFirst()
                if inject(kind) {
                    nextFault = unixTime() + nextInterval()
                } else {
                    if plan.isEmpty || plan.first != kind { plan.insert(kind, at: 0) }
                    nextFault = unixTime() + 0.1
                }
            }
            pause(seconds: 0.02)
        }
        say("fault phase over: \(faults.count) fault(s); \(tally.distinct)/\(settings.tasks) tasks done, waiting for the queue to drain")
    }

    private func nextInterval() -> Double {
        Double.random(in: settings.minInterval...settings.maxInterval, using: &random)
    }

    /// Half worker kills, a quarter each for the others (among the kinds asked for).
    private func randomKind() -> FaultKind {
        let weighted = settings.kinds.flatMap { kind in Array(repeating: kind, count: kind == .workerKill ? 2 : 1) }
        return weighted.randomElement(using: &random)!
    }

    /// Reads progress, and restarts a supervisor that ended without being told to.
    private func observe() {
        tally.update()
        if frontierSamples.last?.highest != tally.highest { frontierSamples.append((unixTime(), tally.highest)) }
        guard let host, !host.isRunning else { return }
        let code = host.wait(timeout: 1) ?? -1
        unexpectedHostExits += 1
        anomaly("sergeant-host \(host.pid) exited by itself with code \(code) (log \(host.outputPath))")
        guard unexpectedHostExits <= 5, !interrupted else { self.host = nil; return }
        do { try startHost() } catch { anomaly("cannot restart sergeant-host: \(error)"); self.host = nil }
    }

    private func anomaly(_ text: String) {
        anomalies.append(text)
        say("ANOMALY: \(text)")
    }

    /// Injects one fault; false when it cannot be injected now (no live worker yet).
    private func inject(_ kind: FaultKind) -> Bool {
        let at = elapsed
        let before = "\(tally.distinct)/\(settings.tasks) done, queue \(integer("LLEN", queue).map(String.init) ?? "?")"
        let detail: String
        switch kind {
        case .workerKill:
            let candidates = liveWorkers()
            guard let victim = candidates.randomElement(using: &random) else { return false }
            kill(victim, SIGKILL)
            detail = "SIGKILL worker \(victim) (one of \(candidates.count))"
        case .supervisorKill:
            guard let old = host else { return false }
            let workers = liveWorkers()
            old.signal(SIGKILL)
            old.wait(timeout: 10)
            // PR_SET_PDEATHSIG: its workers (even one spawned a moment ago) must die with it.
            let limit = unixTime() + 5
            var survivors = processesCarrying(hostEnvironmentToken)
            while !survivors.isEmpty && unixTime() < limit {
                pause(seconds: 0.02)
                survivors = processesCarrying(hostEnvironmentToken)
            }
            for pid in survivors {
                anomaly("process \(pid) (a worker) outlived its SIGKILLed supervisor \(old.pid) by 5 s; killing it")
                kill(pid, SIGKILL)
            }
            do { try startHost() } catch {
                anomaly("cannot start a new sergeant-host: \(error)")
                host = nil
            }
            detail = "SIGKILL supervisor \(old.pid) (\(workers.count) live worker(s) die with it); new supervisor \(host?.pid ?? 0)"
        case .redisRestart:
            guard let server = redis else { return false }
            let stopStarted = unixTime()
            server.signal(SIGTERM)
            if server.wait(timeout: 30) == nil {
                anomaly("redis-server did not stop within 30 s of SIGTERM; killing it")
                server.signal(SIGKILL)
                server.wait(timeout: 10)
            }
            let stopTook = unixTime() - stopStarted
            restartOffsets.append(AppendOnlyFile(directory: dataDirectory).size)
            let down = Double.random(in: 0...settings.redisDowntime, using: &random)
            pause(seconds: down)
            do {
                try startRedis()
            } catch {
                anomaly("redis-server did not come back: \(error)")
            }
            if let reply = try? command("GET", "\(queue).chaos-marker"), reply != .bytes(Array(marker.utf8)) {
                anomaly("redis-server lost its data over the restart (marker key is \(reply))")
            }
            detail = String(format: "restart redis-server (stop took %.2f s, down %.2f s more)", stopTook, down)
        }
        let record = FaultRecord(number: faults.count + 1, kind: kind, time: at, detail: detail)
        faults.append(record)
        say("fault \(record.number)/\(settings.maxFaults): \(detail) [before: \(before)]")
        return true
    }

    /// Workers of the current supervisor that are alive now.
    private func liveWorkers() -> [pid_t] {
        guard let host else { return [] }
        let spawned = host.output.split(separator: "\n").compactMap { line -> pid_t? in
            guard line.contains("spawned worker ") else { return nil }
            return line.split(separator: " ").last.flatMap { pid_t($0) }
        }
        return Array(Set(spawned)).sorted().filter { pid in
            guard let status = processStatus(pid) else { return false }
            return status.running && status.parent == host.pid
        }
    }

    // MARK: Draining

    /// The in-flight picture: (queued, delayed, in flight, in-flight lists, timed out, dead).
    private func redisCounts() -> (queued: Int, delayed: Int, inFlight: Int, lists: Int, timedOut: Int, dead: Int)? {
        guard let queued = integer("LLEN", queue).flatMap({ main in integer("LLEN", KeySpace(queue: queue).recovered).map { main + $0 } }),
              let delayed = integer("ZCARD", KeySpace.delayedSet(of: queue)),
              let timedOut = integer("LLEN", "\(queue).timedout"), let dead = integer("LLEN", KeySpace(queue: queue).dead),
              case .array(let keys)? = try? command("KEYS", KeySpace(queue: queue).processing("*")) else { return nil }
        var inFlight = 0
        var lists = 0
        for case .bytes(let key) in keys {
            guard let length = integer("LLEN", String(decoding: key, as: UTF8.self)) else { return nil }
            inFlight += length
            if length > 0 { lists += 1 }
        }
        return (queued, delayed, inFlight, lists, timedOut, dead)
    }

    /// Waits until every task ran and nothing is queued or in flight, or until the
    /// deadline; a quiet queue with tasks still missing ends the wait too (they are lost).
    private func waitUntilDrained() {
        var quietSince: Double?
        var lastReport = unixTime()
        var lastPicture = ""
        while !interrupted && unixTime() < deadline {
            observe()
            let counts = redisCounts()
            let picture = counts.map { "queued \($0.queued), delayed \($0.delayed), in flight \($0.inFlight) in \($0.lists) list(s),"
                + " timed out \($0.timedOut), dead \($0.dead)" } ?? "redis unreachable"
            if let counts, counts.queued == 0, counts.delayed == 0, counts.inFlight == 0, counts.timedOut == 0 {
                let since = quietSince ?? unixTime()
                quietSince = since
                let everything = tally.distinct >= settings.tasks && counts.dead >= 1
                // Two quiet seconds when everything is accounted for; ten when something is
                // missing (a worker may be between taking a dead worker's tasks and requeueing them).
                if unixTime() - since >= (everything ? 2 : 10) {
                    drained = true
                    say("drained: \(tally.distinct)/\(settings.tasks) tasks done; \(picture)")
                    return
                }
            } else {
                quietSince = nil
            }
            if unixTime() - lastReport >= 5 && picture != lastPicture {
                say("waiting: \(tally.distinct)/\(settings.tasks) tasks done; \(picture)")
                lastReport = unixTime()
                lastPicture = picture
            }
            pause(seconds: 0.2)
        }
        say(interrupted ? "interrupted while waiting for the queue to drain"
            : "timed out after \(Int(settings.timeout)) s waiting for the queue to drain")
    }

    // MARK: Stopping

    /// SIGTERM to the supervisor (a clean stop), then the stragglers.
    private func stopHost() {
        guard let host else { return }
        host.signal(SIGTERM)
        let code = host.wait(timeout: 30)
        if code == nil {
            anomaly("sergeant-host \(host.pid) did not stop within 30 s of SIGTERM; killing it")
            host.signal(SIGKILL)
            host.wait(timeout: 10)
        } else if code != 0 {
            anomaly("sergeant-host \(host.pid) stopped with exit code \(code!) after SIGTERM")
        }
        self.host = nil
        pause(seconds: 0.5)
        for pid in processesCarrying(hostEnvironmentToken) {
            anomaly("process \(pid) of this run still runs after its supervisor stopped; killing it")
            kill(pid, SIGKILL)
        }
    }

    /// Stops everything this run started, whatever happened.
    private func cleanUp(success: Bool) {
        if let host, host.isRunning {
            host.signal(SIGTERM)
            if host.wait(timeout: 20) == nil {
                host.signal(SIGKILL)
                host.wait(timeout: 10)
            }
        }
        host = nil
        for _ in 0..<3 {
            let stragglers = processesCarrying(hostEnvironmentToken)
            if stragglers.isEmpty { break }
            stragglers.forEach { kill($0, SIGKILL) }
            pause(seconds: 0.2)
        }
        status = nil
        if let redis, redis.isRunning {
            redis.signal(SIGTERM)
            if redis.wait(timeout: 30) == nil {
                redis.signal(SIGKILL)
                redis.wait(timeout: 10)
            }
        }
        redis = nil
        if success && !settings.keep && settings.workDir == nil {
            try? FileManager.default.removeItem(atPath: directory)
        } else {
            print("kept the work directory: \(directory) (redis data, host-N.log, redis-N.log, output.txt)")
        }
    }

    // MARK: Report

    /// What a task stored in redis is.
    private enum Stored {
        case number(Int)
        case poison
        case unreadable
    }

    private func classify(_ item: [UInt8]) -> Stored {
        let encoder = EncoderConfig().taskEncoder
        guard let bytes = try? encoder.decodeToMessagePack(item), let task = try? SergeantTask(messagePack: bytes) else { return .unreadable }
        if task.kwargs["poison"]?.boolValue == true { return .poison }
        return task.kwargs["n"]?.intValue.map { .number($0) } ?? .unreadable
    }

    private func list(_ key: String) -> [[UInt8]] {
        guard case .array(let items)? = try? command("LRANGE", key, "0", "-1") else { return [] }
        return items.compactMap { if case .bytes(let item) = $0 { return item } else { return nil } }
    }

    private func report() -> Int32 {
        tally.update()
        // Where every task is in redis now.
        var locations: [Int: Location] = [:]
        var poisonAt: [Location] = []
        func place(_ item: [UInt8], _ location: Location) {
            switch classify(item) {
            case .number(let n): locations[n] = locations[n] ?? location
            case .poison: poisonAt.append(location)
            case .unreadable: break
            }
        }
        list(queue).forEach { place($0, .queue) }
        if case .array(let keys)? = try? command("KEYS", KeySpace(queue: queue).processing("*")) {
            for case .bytes(let key) in keys { list(String(decoding: key, as: UTF8.self)).forEach { place($0, .processing) } }
        }
        var deadReasons: [String: Int] = [:]
        var deadNumbers: [Int] = []
        var deadOther = 0
        let deadEntries = list(KeySpace(queue: queue).dead)
        for entry in deadEntries {
            guard let value = try? MessagePack.decode(entry), let stored = value["task"]?.bytesValue else {
                deadOther += 1
                continue
            }
            deadReasons[value["reason"]?.stringValue ?? "?", default: 0] += 1
            switch classify(stored) {
            case .number(let n):
                deadNumbers.append(n)
                locations[n] = locations[n] ?? .dead
            case .poison: poisonAt.append(.dead)
            case .unreadable: deadOther += 1
            }
        }
        let missing = tally.missing
        let lost = setupFailure == nil ? missing.count : settings.tasks
        let deadPoison = poisonAt.filter { $0 == .dead }.count
        let final = redisCounts()

        print("")
        print("== chaos summary (seed \(settings.seed))")
        if let setupFailure { print("setup:      FAILED: \(setupFailure)") }
        print("pushed:     \(settings.tasks) numbered + 1 poison")
        print("processed:  \(tally.distinct) distinct")
        if setupFailure == nil && lost > 0 {
            let places = Dictionary(grouping: missing) { locations[$0] ?? .nowhere }
            let parts = [Location.nowhere, .dead, .queue, .processing].compactMap { place in
                places[place].map { "\($0.count) \(place.rawValue)" }
            }
            print("lost:       \(lost) (\(parts.joined(separator: ", ")))")
        } else {
            print("lost:       \(lost)")
        }
        print("duplicated: \(tally.duplicated) (extra runs)")
        print("dead:       \(deadEntries.count) (poison \(deadPoison), numbered \(deadNumbers.count), other \(deadOther))")
        let byKind = FaultKind.allCases.map { kind in "\(kind.rawValue) \(faults.filter { $0.kind == kind }.count)" }
        print("faults:     \(faults.count) (\(byKind.joined(separator: ", ")))")
        print("redis:      " + (final.map { "queued \($0.queued), delayed \($0.delayed), in flight \($0.inFlight), timed out \($0.timedOut)" } ?? "unreachable"))
        print(String(format: "elapsed:    %.1f s", elapsed))
        print("anomalies:  \(anomalies.count)")
        for text in anomalies { print("  - \(text)") }
        if !tally.invalid.isEmpty { print("  - output lines that are not task numbers: \(tally.invalid)") }

        if !missing.isEmpty && setupFailure == nil {
            print("lost tasks, in runs of consecutive numbers (where they are in redis now; the faults nearest"
                  + " to when the workers reached them):")
            for run in runs(of: missing).prefix(30) {
                let places = Set(run.map { locations[$0] ?? .nowhere }).map(\.rawValue).sorted().joined(separator: ", ")
                let text = run.count == 1 ? "\(run[0])" : "\(run.first!)-\(run.last!)"
                print("  \(text) (\(run.count)): \(places); \(suspects(for: run.first!))")
            }
            if runs(of: missing).count > 30 { print("  ... \(runs(of: missing).count - 30) more runs") }
            printTrace(of: runs(of: missing).prefix(10).map { $0[0] })
        }
        if !deadNumbers.isEmpty {
            let ran = deadNumbers.filter { tally.runs[$0] > 0 }.count
            print("numbered tasks in the dead-letter list: \(deadNumbers.count) (\(ran) of them had run): "
                  + runs(of: deadNumbers.sorted()).prefix(10).map { $0.count == 1 ? "\($0[0])" : "\($0.first!)-\($0.last!)" }.joined(separator: ", "))
        }
        if !deadReasons.isEmpty {
            for (reason, count) in deadReasons.sorted(by: { $0.value > $1.value }) { print("dead-letter reason (\(count)): \(reason)") }
        }
        printLogNotes()

        var failures: [String] = []
        if setupFailure != nil { failures.append("the run could not be set up") }
        if lost > 0 { failures.append("\(lost) task(s) lost") }
        if deadEntries.count != 1 || deadPoison != 1 {
            failures.append("the dead-letter list holds \(deadEntries.count) entries, expected exactly the poison task")
        }
        if !drained && setupFailure == nil { failures.append("the queue did not drain (queued or in-flight tasks left: a hang)") }
        if interrupted { failures.append("interrupted") }
        print("result:     " + (failures.isEmpty ? "PASS" : "FAIL: " + failures.joined(separator: "; ")))
        if !failures.isEmpty { print("repeat:     sergeant-chaos --seed \(settings.seed) --tasks \(settings.tasks) --workers \(settings.workers)"
                                     + " --batch \(settings.batch) --faults \(settings.maxFaults) --min-interval \(settings.minInterval)"
                                     + " --max-interval \(settings.maxInterval) --redis-downtime \(settings.redisDowntime)"
                                     + " --fault-kinds \(settings.kinds.map(\.option).joined(separator: ","))") }
        fflush(nil)
        if setupFailure != nil { return 2 }
        return failures.isEmpty ? 0 : 1
    }

    /// Consecutive numbers grouped.
    private func runs(of numbers: [Int]) -> [[Int]] {
        var result: [[Int]] = []
        for n in numbers {
            if let last = result.last?.last, last + 1 == n { result[result.count - 1].append(n) } else { result.append([n]) }
        }
        return result
    }

    /// The faults injected within a few seconds of the moment the workers first reached `n`.
    private func suspects(for n: Int) -> String {
        guard let reached = frontierSamples.first(where: { $0.highest >= n }) else { return "the workers never got that far" }
        let at = reached.time - started
        let near = faults.filter { $0.time >= at - 5 && $0.time <= at + 2 }
            .sorted { abs($0.time - at) < abs($1.time - at) }.prefix(3).sorted { $0.time < $1.time }
        let when = String(format: "reached at %.1f s", at)
        guard !near.isEmpty else { return "\(when), no fault within 5 s before" }
        return "\(when); " + near.map { String(format: "fault %d (%@) at %.1f s", $0.number, $0.kind.rawValue, $0.time) }.joined(separator: ", ")
    }

    /// What redis did with each of `numbers`, from its append-only file: the last write that
    /// carried the task, and the next write to the list it went to.
    private func printTrace(of numbers: [Int]) {
        let aof = AppendOnlyFile(directory: dataDirectory)
        let commands = aof.commands { item in
            // A dead-letter entry carries the task's bytes under "task".
            let task = (try? MessagePack.decode(item))?["task"]?.bytesValue ?? item
            switch self.classify(task) {
            case .number(let n): return .numbered(n)
            case .poison: return .other
            case .unreadable: return .none
            }
        }
        guard !commands.isEmpty else { return }
        let restarts = restartOffsets.map { offset in commands.firstIndex { $0.offset >= offset } ?? commands.count }
        func restartsBetween(_ from: Int, _ to: Int) -> String {
            restarts.enumerated().filter { $0.element > from && $0.element <= to }
                .map { " [redis restart \($0.offset + 1)]" }.joined()
        }
        print("AOF trace of lost tasks (redis writes that carried the task, oldest first; #N is the N-th write in \(aof.directory)):")
        for n in numbers {
            let writes = commands.indices.filter { commands[$0].tasks.contains(n) }
            guard let last = writes.last else {
                print("  \(n): never written to redis (?)")
                continue
            }
            var text = "  \(n):"
            var previous: Int?
            for index in writes.suffix(8) {
                if let previous { text += restartsBetween(previous, index) + " ->" }
                text += " #\(index) \(commands[index].summary)"
                previous = index
            }
            // What became of the in-flight list the task was last put in.
            let command = commands[last]
            let destination = ["LMOVE", "BLMOVE", "RPOPLPUSH"].contains(command.name) ? command.words.dropFirst().first : command.words.first
            if let key = destination, key.hasPrefix(KeySpace(queue: queue).processing("")),
               let next = commands[(last + 1)...].firstIndex(where: { $0.words.contains(key) }) {
                let crossed = restartsBetween(last, next)
                text += crossed + " -> next write to that list: #\(next) \(commands[next].summary)"
                if !crossed.isEmpty && commands[next].name == "DEL" && tally.runs[n] == 0 {
                    text += " (the batch was in flight across a redis restart and its list was cleared without the task running)"
                }
            }
            print(text)
        }
    }

    /// Error lines of the supervisors and workers, grouped with digits masked.
    private func printLogNotes() {
        var groups: [String: Int] = [:]
        for index in 1...max(hostStarts, 1) {
            guard let text = try? String(contentsOfFile: "\(directory)/host-\(index).log", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") where line.contains(" ERROR ") || line.contains(" CRITICAL ") || line.contains(" WARNING ") {
                // Drop the date, time, name and pid columns; mask numbers.
                let message = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: true).last.map(String.init) ?? String(line)
                var masked = String(message.map { $0.isNumber ? "#" : $0 })
                while masked.contains("##") { masked = masked.replacingOccurrences(of: "##", with: "#") }
                groups[masked, default: 0] += 1
            }
        }
        guard !groups.isEmpty else { return }
        print("host log warnings and errors (digits masked):")
        for (message, count) in groups.sorted(by: { $0.value > $1.value }).prefix(15) {
            print(String(format: "  %5d  ", count) + String(message.prefix(200)))
        }
    }
}
