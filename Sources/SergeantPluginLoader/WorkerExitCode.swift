import Logging

// MARK: - WorkerExitCode

/// Every exit code of `sergeant-worker` and `sergeant-host`, with what it means and what the
/// supervisor does when a worker ends with it: the one contract between a worker process and
/// its supervisor (as ``WorkerLaunch`` is the one for starting it).
///
/// A worker that cannot load its plugin exits with the code of the reason (3...7); the
/// supervisor then stops every worker and exits with that same code. `sergeant-host` itself
/// ends with the codes that have a ``hostMeaning``.
///
/// ```swift
/// WorkerExitCode.hardTimeout.supervisorResponse      // .respawn
/// WorkerExitCode.classNotFound.supervisorResponse    // .stopAll(exitCode: .classNotFound): exits 5
/// WorkerExitCode(rawValue: 13)?.supervisorResponse   // .respawnAfterFailure (brokerFailure)
/// ```
public enum WorkerExitCode: Int32, Sendable, CaseIterable {
    /// The worker ran to its end of life (max_tasks_per_run); sergeant-host: every worker has stopped.
    case finished = 0
    /// sergeant-host: sergeant-worker is missing or cannot be started.
    case spawnFailed = 1
    /// The plugin module does not exist.
    case moduleNotFound = 3
    /// The file is not a loadable sergeant plugin.
    case moduleNotLoadable = 4
    /// The plugin does not export the worker class.
    case classNotFound = 5
    /// The plugin speaks another ABI major version.
    case abiMismatch = 6
    /// The worker's configuration is unusable.
    case invalidConfig = 7
    /// Retired: sergeant-host once gave up on workers that kept dying at start. It now respawns
    /// them with a backoff and never exits with 8; the number stays reserved.
    case crashLoop = 8
    /// The plugin asked to be replaced.
    case respawn = 10
    /// The plugin asked every worker to stop.
    case stop = 11
    /// Stopped by SIGTERM/SIGINT after finishing its task.
    case terminated = 12
    /// The broker could not be reached or used.
    case brokerFailure = 13
    /// A task ran past its timeout plus the grace period; the worker ended itself and left
    /// the task for the next worker's on_timeout.
    case hardTimeout = 14
    /// A bad command line (EX_USAGE).
    case usage = 64

    /// What the supervisor does when a worker exits.
    public enum SupervisorResponse: Sendable, Equatable {
        /// The worker ended as planned: start a fresh one.
        case respawn
        /// The worker failed: start a fresh one after a backoff that grows while its slot keeps
        /// failing (the host's `RespawnBackoff`), never giving up.
        case respawnAfterFailure
        /// Stop every worker; sergeant-host then exits with `exitCode`: 0 when a worker
        /// asked to stop, the worker's own code when it could not load the plugin (give up).
        case stopAll(exitCode: WorkerExitCode)
    }

    /// What the supervisor does when a worker exits with this code (a signal or a code not
    /// listed here: ``SupervisorResponse/respawnAfterFailure``).
    public var supervisorResponse: SupervisorResponse {
        switch self {
        case .finished, .respawn, .terminated, .hardTimeout: return .respawn
        case .stop: return .stopAll(exitCode: .finished)
        case .moduleNotFound, .moduleNotLoadable, .classNotFound, .abiMismatch, .invalidConfig: return .stopAll(exitCode: self)
        case .spawnFailed, .crashLoop, .brokerFailure, .usage: return .respawnAfterFailure
        }
    }

    /// What the supervisor logs after `worker PID ` when a worker exits with this code; nil
    /// for `ended abnormally with exit code N; respawning`.
    public var supervisorReport: (level: Logger.Level, text: String)? {
        switch self {
        case .finished: return (.info, "has finished its run; respawning")
        case .respawn: return (.info, "asked to respawn")
        case .stop: return (.info, "asked to stop; stopping every worker")
        case .hardTimeout: return (.error, "ended itself over a task past its timeout and grace period; respawning")
        case .moduleNotFound, .moduleNotLoadable, .classNotFound, .abiMismatch, .invalidConfig:
            return (.critical, "could not load the plugin (reason above); stopping")
        case .spawnFailed, .crashLoop, .terminated, .brokerFailure, .usage: return nil
        }
    }

    /// What the code means when sergeant-host exits with it; nil for codes only a worker ends with.
    public var hostMeaning: String? {
        switch self {
        case .finished: return "stopped"
        case .spawnFailed: return "sergeant-worker missing or not startable"
        case .moduleNotFound: return "module not found"
        case .moduleNotLoadable: return "module not loadable"
        case .classNotFound: return "class not found"
        case .abiMismatch: return "ABI mismatch"
        case .invalidConfig: return "invalid worker configuration"
        case .usage: return "bad arguments"
        case .crashLoop, .respawn, .stop, .terminated, .brokerFailure, .hardTimeout: return nil
        }
    }

    /// sergeant-host's exit codes for its help: `0 stopped; 1 sergeant-worker missing ...`.
    public static var hostCodesHelp: String {
        allCases.compactMap { code in code.hostMeaning.map { "\(code.rawValue) \($0)" } }.joined(separator: "; ")
    }
}
