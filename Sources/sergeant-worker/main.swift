#if canImport(Glibc)
import Glibc
#endif
import SergeantCore
import SergeantPluginLoader
import SergeantHost

// MARK: - sergeant-worker

// One worker process, as `sergeant-host` starts it from its own directory:
//
//     sergeant-worker [--check] --worker-module PATH --worker-class NAME
//
// with the rest of its launch in its environment (WorkerLaunch, the whole contract). It is
// the supervisor's internal program, not a command for users, so it parses its two options
// by hand: an ArgumentParser CLI would load FoundationEssentials, some 2 MB of resident
// memory in every worker.

/// Reports a bad command line and exits with EX_USAGE (64).
func usageError(_ message: String) -> Never {
    let text = Array(("sergeant-worker: \(message)\n"
                      + "usage: sergeant-worker --worker-module PATH --worker-class NAME (sergeant-host starts it)\n").utf8)
    _ = text.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    _exit(WorkerExitCode.usage.rawValue)
}

let launch: WorkerLaunch
do { launch = try WorkerLaunch(arguments: Environment.commandLine(), environment: Environment.value) } catch {
    usageError(error.description)
}
let code = launch.checkOnly ? WorkerProcess.check(launch) : WorkerProcess.run(launch)
// _exit, not exit: threads a plugin left running must neither delay the end of the worker
// nor deadlock it in atexit handlers (sergeant's example 9).
_exit(code)
