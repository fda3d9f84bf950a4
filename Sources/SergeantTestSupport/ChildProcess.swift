import Foundation
import SergeantCore

// MARK: - ChildProcess

/// A process started with posix_spawn (``ProcessSpawner``), its standard input /dev/null,
/// its output captured in a file. Foundation's `Process` is not used: on Linux its
/// `waitUntilExit` can hang when the process was started from another thread.
public final class ChildProcess: @unchecked Sendable {
    /// The process id.
    public var pid: pid_t { process.pid }
    /// The file standard output and standard error go to.
    public let outputPath: String
    /// Unix time just before posix_spawn.
    public var started: Double { process.started }
    private let process: SpawnedProcess

    /// Starts `arguments[0]` (a full path) with `arguments`, plus `environment` entries; with
    /// `processGroup`, in a new process group whose id is its pid.
    public init(_ arguments: [String], environment: [String: String] = [:], output: String? = nil,
                processGroup: Bool = false) throws {
        outputPath = output ?? FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-test-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        var spawner = ProcessSpawner(arguments, environment: ProcessSpawner.currentEnvironment(overriding: environment))
        spawner.nullInput = true
        spawner.outputFile = outputPath
        spawner.ownProcessGroup = processGroup
        do {
            process = try SpawnedProcess(spawner)
        } catch {
            throw SupportError(error.description)
        }
    }

    deinit {
        if process.isRunning {
            process.signal(SIGKILL)
            _ = wait()
        }
    }

    /// Everything the process printed so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Sends a signal.
    public func signal(_ signal: Int32) {
        process.signal(signal)
    }

    /// True while the process has not exited.
    public var isRunning: Bool { process.isRunning }

    /// Waits (polling every `pollInterval` seconds, with a deadline) for the process to exit;
    /// returns its exit code, or 128 + signal when a signal ended it.
    @discardableResult
    public func wait(timeout: Double = 60, pollInterval: Double = 0.005) -> Int32? {
        process.wait(timeout: timeout, pollInterval: pollInterval)
    }

    /// Runs a command to its end and returns its exit code and output.
    public static func run(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 120) throws -> (code: Int32, output: String) {
        let child = try ChildProcess(arguments, environment: environment)
        guard let code = child.wait(timeout: timeout) else {
            throw SupportError("\(arguments.joined(separator: " ")) did not finish in \(timeout) s; output:\n\(child.output)")
        }
        return (code, child.output)
    }
}
