import Foundation
import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - Spawned

/// A process the benchmark starts with posix_spawn, in a process group of its own (so a
/// supervisor and the workers it spawned can be ended together), its output in a file.
/// (Peak RSS is not taken from wait4's ru_maxrss: after posix_spawn's vfork it reports
/// the parent's high-water mark. Each measured process reports its own VmHWM instead.)
final class Spawned {
    /// The process id, which is also its process group id.
    var pid: pid_t { process.pid }
    /// Standard output and standard error.
    let outputPath: String
    /// Unix time just before posix_spawn.
    var started: Double { process.started }
    private let process: SpawnedProcess

    /// Starts `arguments` (the first is looked up on PATH) with extra `environment`; with
    /// `cores`, under `taskset -c CORES` (which execs the program: same pid).
    init(_ arguments: [String], environment: [String: String] = [:], cores: String? = nil) throws {
        var argv = arguments
        argv[0] = try Self.resolve(argv[0])
        if let cores { argv = [try which("taskset"), "-c", cores] + argv }
        outputPath = NSTemporaryDirectory() + "sergeant-bench-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)

        var spawner = ProcessSpawner(argv, environment: ProcessSpawner.currentEnvironment(overriding: environment))
        spawner.nullInput = true
        spawner.outputFile = outputPath
        spawner.ownProcessGroup = true
        do {
            process = try SpawnedProcess(spawner)
        } catch {
            throw SupportError(error.description)
        }
        LiveGroups.add(process.pid)
    }

    deinit {
        if isRunning {
            killGroup(SIGKILL)
            wait(timeout: 10)
        }
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// Everything the process printed so far.
    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// True while it has not been reaped.
    var isRunning: Bool {
        guard process.isRunning else {
            LiveGroups.remove(process.pid)
            return false
        }
        return true
    }

    /// Sends `signal` to the process.
    func signal(_ signal: Int32) { process.signal(signal) }

    /// Sends `signal` to its whole process group (it and the processes it started).
    func killGroup(_ signal: Int32) { kill(-pid, signal) }

    /// Waits up to `timeout` seconds; returns the exit code (128 + signal), nil on timeout.
    @discardableResult
    func wait(timeout: Double) -> Int32? {
        defer { if !process.isRunning { LiveGroups.remove(process.pid) } }
        return process.wait(timeout: timeout, pollInterval: 0.002)
    }

    /// Asks it to stop with SIGTERM; after `grace` seconds, kills its process group.
    func stop(grace: Double = 15) {
        guard isRunning else { return }
        signal(SIGTERM)
        if wait(timeout: grace) == nil {
            killGroup(SIGKILL)
            wait(timeout: 10)
        }
        // Workers that outlived their supervisor are in the same group.
        killGroup(SIGKILL)
    }

    /// Runs a command to its end; throws with its output when it fails or hangs.
    static func run(_ arguments: [String], environment: [String: String] = [:], cores: String? = nil,
                    timeout: Double = 900) throws -> String {
        let process = try Spawned(arguments, environment: environment, cores: cores)
        guard let code = process.wait(timeout: timeout) else {
            throw SupportError("\(arguments.joined(separator: " ")) did not finish within \(Int(timeout)) s:\n\(process.output)")
        }
        guard code == 0 else {
            throw SupportError("\(arguments.joined(separator: " ")) exited with \(code):\n\(process.output.suffix(3000))")
        }
        return process.output
    }

    private static func resolve(_ program: String) throws -> String {
        program.contains("/") ? program : try which(program)
    }
}

// MARK: - LiveGroups

/// The process groups the benchmark started and has not reaped: SIGINT, SIGTERM or SIGHUP
/// of the benchmark kills them (they are not in its group, so a Ctrl-C would miss them).
enum LiveGroups {
    private static let capacity = 256
    /// A fixed table the signal handler reads without allocating; 0 marks a free slot.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<pid_t> = {
        let table = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        table.initialize(repeating: 0, count: capacity)
        return table
    }()

    static func add(_ pid: pid_t) {
        for index in 0..<capacity where table[index] == 0 {
            table[index] = pid
            return
        }
    }

    static func remove(_ pid: pid_t) {
        for index in 0..<capacity where table[index] == pid { table[index] = 0 }
    }

    /// Installs the handler that kills every live group, then exits 130.
    static func installCleanup() {
        _ = table
        let handler: @convention(c) (Int32) -> Void = { _ in
            for index in 0..<LiveGroups.capacity where LiveGroups.table[index] > 0 { kill(-LiveGroups.table[index], SIGKILL) }
            _exit(130)
        }
        for signal in [SIGINT, SIGTERM, SIGHUP] { _ = Glibc.signal(signal, handler) }
    }
}

// MARK: - BenchRedis

/// A private redis-server on a free loopback port whose CPU affinity the benchmark sets
/// per row (single rows pin it to core 0).
final class BenchRedis {
    let port: Int
    let process: Spawned
    let directory: String
    let connection: RedisConnection

    init(logger: Logger) throws {
        port = try freePort()
        directory = NSTemporaryDirectory() + "sergeant-bench-redis-\(port)-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        process = try Spawned(["redis-server", "--port", String(port), "--bind", "127.0.0.1", "--dir", directory,
                               "--save", "", "--appendonly", "no", "--loglevel", "warning"])
        connection = RedisConnection(node: RedisNode(host: "127.0.0.1", port: port), logger: logger, reconnectTimeout: 0.2)
        try waitUntil(timeout: 10, "redis-server on port \(port) to answer") {
            (try? connection.command("PING")) == .status("PONG")
        }
        connection.reconnectTimeout = 30
    }

    deinit {
        process.stop(grace: 10)
        try? FileManager.default.removeItem(atPath: directory)
    }

    var node: RedisNode { RedisNode(host: "127.0.0.1", port: port) }

    /// Empties every database.
    func flush() throws {
        _ = try connection.command("FLUSHALL")
    }

    /// Sets the CPU affinity of every thread of the server (`taskset -a -p -c CORES PID`).
    func pin(_ cores: String) throws {
        _ = try Spawned.run(["taskset", "-a", "-p", "-c", cores, String(process.pid)])
    }

    /// `redis-server --version`'s version number.
    static func version() -> String {
        guard let output = try? Spawned.run(["redis-server", "--version"]),
              let field = output.split(separator: " ").first(where: { $0.hasPrefix("v=") }) else { return "?" }
        return String(field.dropFirst(2))
    }
}
