#if canImport(Glibc)
import Glibc
#endif
import SergeantCore
import SergeantHost

// MARK: - sergeant-worker

// One worker process, as `sergeant-host` starts it from its own directory:
//
//     sergeant-worker --worker-module PATH --worker-class NAME
//
// with SERGEANT_WORKER_ID, SERGEANT_RECOVER_ID and SERGEANT_REDIS in its environment. It is
// the supervisor's internal program, not a command for users, so it parses its two options
// by hand: an ArgumentParser CLI would load FoundationEssentials, some 2 MB of resident
// memory in every worker.

/// Reports a bad command line and exits with EX_USAGE (64).
func usageError(_ message: String) -> Never {
    let text = Array(("sergeant-worker: \(message)\n"
                      + "usage: sergeant-worker --worker-module PATH --worker-class NAME (sergeant-host starts it)\n").utf8)
    _ = text.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
    _exit(64)
}

var options: [String: String] = [:]
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
    let name = String(parts[0])
    guard name == "--worker-module" || name == "--worker-class" else { usageError("unknown argument '\(argument)'") }
    if parts.count == 2 {
        options[name] = String(parts[1])
    } else if let value = arguments.popFirst() {
        options[name] = value
    } else {
        usageError("\(name) needs a value")
    }
}
guard let modulePath = options["--worker-module"], let className = options["--worker-class"] else {
    usageError("--worker-module and --worker-class are required")
}
let redisNodes: [RedisNode]?
do { redisNodes = try Environment.redisNodes(option: nil) } catch { usageError(error.description) }
let code = WorkerProcess.run(modulePath: modulePath, className: className, overrides: .init(redisNodes: redisNodes))
// _exit, not exit: threads a plugin left running must neither delay the end of the worker
// nor deadlock it in atexit handlers (sergeant's example 9).
_exit(code)
