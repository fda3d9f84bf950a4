#if canImport(Glibc)
import Glibc
#endif
import SergeantCore
import SergeantPluginLoader

// MARK: - WorkerLaunch

/// The whole contract between `sergeant-host` and the `sergeant-worker` processes it starts,
/// in one place: what goes on the command line and what in the environment. The supervisor
/// writes it with ``arguments(executable:)`` and ``environment(inheriting:)``; the worker reads
/// it back with ``init(arguments:environment:)``.
///
///     sergeant-worker [--check] --worker-module PATH --worker-class NAME
///     SERGEANT_WORKER_ID=host-pid-n  SERGEANT_RECOVER_ID=host-pid-m  SERGEANT_REDIS=redis://...
///     SERGEANT_RECONNECT_TIMEOUT=seconds  SERGEANT_LOG_FORMAT=sergeant|json  SERGEANT_READY_SIGNAL=n
///
/// ```swift
/// var launch = WorkerLaunch(modulePath: "./libconsumer.so", className: "Worker")
/// launch.workerID = "vm-7-1"
/// let argv = launch.arguments(executable: "/usr/bin/sergeant-worker")
/// let back = try WorkerLaunch(arguments: argv, environment: launch.environmentValue)
/// ```
public struct WorkerLaunch: Sendable, Equatable {
    /// The plugin's shared library (`--worker-module`).
    public var modulePath: String
    /// The worker class it exports (`--worker-class`).
    public var className: String
    /// This worker's name in in-flight records (`SERGEANT_WORKER_ID`); nil: one is made up.
    public var workerID: String?
    /// The worker whose in-flight tasks this one takes over first: the one it replaces, which
    /// its supervisor saw die (`SERGEANT_RECOVER_ID`).
    public var predecessorID: String?
    /// A Redis URL replacing the plugin's connector (`SERGEANT_REDIS`, not argv: it may hold a
    /// password).
    public var redisURL: String?
    /// Seconds a dead Redis is retried before an operation fails (`SERGEANT_RECONNECT_TIMEOUT`).
    public var reconnectTimeout: Double?
    /// The log format replacing the plugin's (`SERGEANT_LOG_FORMAT`: `sergeant` or `json`).
    public var logFormat: LogFormat?
    /// The signal the worker sends its parent once it is ready (``WorkerReadiness``,
    /// `SERGEANT_READY_SIGNAL`); nil sends none.
    public var readySignal: Int32?
    /// Only check that the plugin loads and gives its configuration, then exit 0 (or the
    /// ``WorkerExitCode`` of the reason it does not): the step a rolling restart runs before
    /// it replaces any worker (`--check`).
    public var checkOnly = false
    /// False starts the worker with the Swift runtime's crash backtraces off
    /// (`SWIFT_BACKTRACE=enable=no`), unless the inherited environment sets `SWIFT_BACKTRACE`
    /// itself: the supervisor's choice for a slot whose workers keep crashing, where each
    /// backtrace costs about 80 ms of CPU and the first ones already told the story.
    public var crashBacktraces = true

    static let workerIDVariable = "SERGEANT_WORKER_ID"
    static let predecessorVariable = "SERGEANT_RECOVER_ID"
    static let redisVariable = "SERGEANT_REDIS"
    static let reconnectVariable = "SERGEANT_RECONNECT_TIMEOUT"
    static let logFormatVariable = "SERGEANT_LOG_FORMAT"
    static let readySignalVariable = "SERGEANT_READY_SIGNAL"
    static let backtraceVariable = "SWIFT_BACKTRACE"
    static let variables = [workerIDVariable, predecessorVariable, redisVariable, reconnectVariable, logFormatVariable,
                            readySignalVariable]

    /// A launch of `className` from `modulePath`.
    public init(modulePath: String, className: String, workerID: String? = nil, predecessorID: String? = nil,
                redisURL: String? = nil, reconnectTimeout: Double? = nil, logFormat: LogFormat? = nil) {
        self.modulePath = modulePath
        self.className = className
        self.workerID = workerID
        self.predecessorID = predecessorID
        self.redisURL = redisURL
        self.reconnectTimeout = reconnectTimeout
        self.logFormat = logFormat
    }

    /// The command line of a worker process, `executable` first.
    public func arguments(executable: String) -> [String] {
        [executable] + (checkOnly ? ["--check"] : []) + ["--worker-module", modulePath, "--worker-class", className]
    }

    /// The values this launch puts in the environment, by variable name.
    public func environmentValue(_ name: String) -> String? {
        switch name {
        case Self.workerIDVariable: return workerID
        case Self.predecessorVariable: return predecessorID
        case Self.redisVariable: return redisURL
        case Self.reconnectVariable: return reconnectTimeout.map { String($0) }
        case Self.logFormatVariable: return logFormat?.rawValue
        case Self.readySignalVariable: return readySignal.map { String($0) }
        default: return nil
        }
    }

    /// The environment of a worker process: `inherited` (`NAME=value` entries) without the
    /// launch's own variables, then the launch's.
    public func environment(inheriting inherited: [String]) -> [String] {
        var environment = inherited.filter { entry in !Self.variables.contains { entry.hasPrefix($0 + "=") } }
        for name in Self.variables { if let value = environmentValue(name) { environment.append("\(name)=\(value)") } }
        if !crashBacktraces && !inherited.contains(where: { $0.hasPrefix(Self.backtraceVariable + "=") }) {
            environment.append(Self.backtraceVariable + "=enable=no")
        }
        return environment
    }

    /// Reads a launch back from a worker's command line (`arguments`, program first) and
    /// environment. Throws a ``WorkerLaunchError`` that says what is wrong.
    public init(arguments: [String], environment: (String) -> String?) throws(WorkerLaunchError) {
        var options: [String: String] = [:]
        var check = false
        var rest = arguments.dropFirst()
        while let argument = rest.popFirst() {
            if argument == "--check" {
                check = true
                continue
            }
            let parts = argument.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard name == "--worker-module" || name == "--worker-class" else { throw WorkerLaunchError("unknown argument '\(argument)'") }
            if parts.count == 2 {
                options[name] = String(parts[1])
            } else if let value = rest.popFirst() {
                options[name] = value
            } else {
                throw WorkerLaunchError("\(name) needs a value")
            }
        }
        guard let modulePath = options["--worker-module"], let className = options["--worker-class"] else {
            throw WorkerLaunchError("--worker-module and --worker-class are required")
        }
        var timeout: Double?
        if let text = environment(Self.reconnectVariable), !text.isEmpty {
            guard let seconds = Double(text), seconds >= 0, seconds.isFinite else {
                throw WorkerLaunchError("\(Self.reconnectVariable)=\(text) is not a number of seconds")
            }
            timeout = seconds
        }
        var format: LogFormat?
        if let text = environment(Self.logFormatVariable), !text.isEmpty {
            guard let known = LogFormat(rawValue: text) else {
                throw WorkerLaunchError("\(Self.logFormatVariable)=\(text) is not a log format (sergeant or json)")
            }
            format = known
        }
        var ready: Int32?
        if let text = environment(Self.readySignalVariable), !text.isEmpty {
            guard let number = Int32(text), number > 0 else {
                throw WorkerLaunchError("\(Self.readySignalVariable)=\(text) is not a signal number")
            }
            ready = number
        }
        self.init(modulePath: modulePath, className: className, workerID: environment(Self.workerIDVariable),
                  predecessorID: environment(Self.predecessorVariable),
                  redisURL: environment(Self.redisVariable).flatMap { $0.isEmpty ? nil : $0 }, reconnectTimeout: timeout,
                  logFormat: format)
        readySignal = ready
        checkOnly = check
    }

    /// The Redis nodes of ``redisURL``, nil when unset. Throws for a value that is not a URL.
    public func redisNodes() throws(RedisURLError) -> [RedisNode]? {
        guard let redisURL else { return nil }
        guard let node = RedisNode(url: redisURL) else { throw RedisURLError() }
        return [node]
    }
}

/// A worker command line or environment that does not follow ``WorkerLaunch``.
public struct WorkerLaunchError: Error, Sendable, CustomStringConvertible {
    /// What is wrong.
    public let description: String

    init(_ description: String) { self.description = description }
}
