#if canImport(Glibc)
import Glibc
#endif

// MARK: - ProcessSpawner

/// Starts a process with `posix_spawn`: its argument vector, its environment, where its
/// standard streams go, and the few attributes the supervisor, the tests and the benchmark
/// need. Foundation's `Process` is not used: on Linux its `waitUntilExit` can hang when the
/// process was started from another thread, and it would load Foundation into the host.
///
/// ``spawn()`` returns the process id; the caller reaps that pid (``SpawnedProcess`` does,
/// with `waitpid` on its own pid only, never `waitpid(-1)`).
package struct ProcessSpawner: Sendable {
    /// The program (a full path; PATH is not searched) and its arguments, program first.
    package var arguments: [String]
    /// The whole environment of the process, `NAME=value` entries.
    package var environment: [String]
    /// Standard input from /dev/null instead of this process's.
    package var nullInput = false
    /// A file standard output and standard error are both appended to (created if
    /// missing); nil: they are this process's.
    package var outputFile: String?
    /// A new process group whose id is the new pid (to signal it and its descendants together).
    package var ownProcessGroup = false
    /// Signals whose handlers the process resets to the default, with an empty signal mask
    /// (for a parent that blocks or catches them); nil: inherited as `posix_spawn` does.
    package var defaultSignals: [Int32]?

    /// A spawner of `arguments` (program first) with `environment` (by default this
    /// process's own).
    package init(_ arguments: [String], environment: [String] = ProcessSpawner.currentEnvironment()) {
        precondition(!arguments.isEmpty, "a process needs a program")
        self.arguments = arguments
        self.environment = environment
    }

    /// This process's environment with `overrides` (`NAME=value`) in place of the entries
    /// of the same names.
    package static func currentEnvironment(overriding overrides: [String] = []) -> [String] {
        var entries: [String] = []
        var index = 0
        while let entry = environ[index] {
            entries.append(String(cString: entry))
            index += 1
        }
        guard !overrides.isEmpty else { return entries }
        let overridden = Set(overrides.map(name(of:)))
        entries.removeAll { overridden.contains(name(of: $0)) }
        return entries + overrides
    }

    /// This process's environment with `overrides` in place of the entries of the same names.
    package static func currentEnvironment(overriding overrides: [String: String]) -> [String] {
        currentEnvironment(overriding: overrides.map { "\($0.key)=\($0.value)" })
    }

    private static func name(of entry: String) -> Substring {
        entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
    }

    /// Starts the process and returns its pid.
    package func spawn() throws(SpawnError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if nullInput { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if let outputFile {
            posix_spawn_file_actions_addopen(&actions, 1, outputFile, O_WRONLY | O_APPEND | O_CREAT, 0o644)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags: Int32 = 0
        if ownProcessGroup {
            posix_spawnattr_setpgroup(&attributes, 0)
            flags |= Int32(POSIX_SPAWN_SETPGROUP)
        }
        if let defaultSignals {
            var empty = sigset_t()
            sigemptyset(&empty)
            var defaults = sigset_t()
            sigemptyset(&defaults)
            for signal in defaultSignals { sigaddset(&defaults, signal) }
            posix_spawnattr_setsigmask(&attributes, &empty)
            posix_spawnattr_setsigdefault(&attributes, &defaults)
            flags |= Int32(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        }
        posix_spawnattr_setflags(&attributes, Int16(flags))

        var pid: pid_t = 0
        let status = withCStrings(arguments) { argv in
            withCStrings(environment) { envp in posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp) }
        }
        guard status == 0 else { throw SpawnError(program: arguments[0], code: status) }
        return pid
    }
}

// MARK: - SpawnError

/// `posix_spawn` could not start a program.
package struct SpawnError: Error, CustomStringConvertible, Sendable {
    /// The program.
    package let program: String
    /// The error number posix_spawn returned.
    package let code: Int32

    /// What the error number means (`strerror`).
    package var reason: String { String(cString: strerror(code)) }

    /// `cannot start PROGRAM: REASON`.
    package var description: String { "cannot start \(program): \(reason)" }
}

// MARK: - C strings

/// Runs `body` with a NULL-terminated C array of copies of `strings` (an argv or envp).
package func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> T) -> T {
    let pointers = strings.map { strdup($0) } + [nil]
    defer { pointers.forEach { free($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
