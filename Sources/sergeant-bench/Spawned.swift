import Foundation
import SergeantTestSupport

// MARK: - Spawned

/// A process the benchmark starts (a ``ChildProcess``), in a process group of its own (so a
/// supervisor and the workers it spawned can be ended together), its output in a file.
/// (Peak RSS is not taken from wait4's ru_maxrss: after posix_spawn's vfork it reports
/// the parent's high-water mark. Each measured process reports its own VmHWM instead.)
final class Spawned {
    /// The process id, which is also its process group id.
    var pid: pid_t { process.pid }
    /// Standard output and standard error.
    var outputPath: String { process.outputPath }
    /// Unix time just before posix_spawn.
    var started: Double { process.started }
    private let process: ChildProcess

    /// Starts `arguments` (the first is looked up on PATH) with extra `environment`; with
    /// `cores`, under `taskset -c CORES` (which execs the program: same pid).
    init(_ arguments: [String], environment: [String: String] = [:], cores: String? = nil) throws {
        var argv = arguments
        argv[0] = try Self.resolve(argv[0])
        if let cores { argv = [try which("taskset"), "-c", cores] + argv }
        process = try ChildProcess(argv, environment: environment,
                                   output: NSTemporaryDirectory() + "sergeant-bench-\(UUID().uuidString).log", processGroup: true)
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
    var output: String { process.output }

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
