import Foundation

// MARK: - ChildProcess

/// A process started with posix_spawn, its output captured in a file. Foundation's
/// `Process` is not used: on Linux its `waitUntilExit` can hang when the process was
/// started from another thread.
public final class ChildProcess: @unchecked Sendable {
    /// The process id.
    public let pid: pid_t
    /// The file standard output and standard error go to.
    public let outputPath: String
    private var exitStatus: Int32?

    /// Starts `arguments[0]` (a full path) with `arguments`, plus `environment` entries.
    public init(_ arguments: [String], environment: [String: String] = [:], output: String? = nil) throws {
        outputPath = output ?? FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-test-\(UUID().uuidString).log").path
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let environmentList = merged.map { "\($0.key)=\($0.value)" }
        var pid: pid_t = 0
        let status = withCStringArray(arguments) { argv in
            withCStringArray(environmentList) { envp in posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) }
        }
        guard status == 0 else { throw SupportError("cannot start \(arguments[0]): \(String(cString: strerror(status)))") }
        self.pid = pid
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            _ = wait()
        }
    }

    /// Everything the process printed so far.
    public var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    /// Sends a signal.
    public func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// True while the process has not exited.
    public var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = status
            return false
        }
        return true
    }

    /// Waits (polling, with a deadline) for the process to exit; returns its exit code, or
    /// 128 + signal when a signal ended it.
    @discardableResult
    public func wait(timeout: Double = 60) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            if Date() > deadline { return nil }
            usleep(5_000)
        }
        let status = exitStatus ?? 0
        return (status & 0x7f) != 0 ? 128 + (status & 0x7f) : (status >> 8) & 0xff
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

func withCStringArray<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
