import ArgumentParser
import Logging
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

// MARK: - sergeant

/// `sergeant`: the producer and admin command line. Each command reads the queue name and
/// the connector from the worker plugin's configuration, as Python sergeant's producer does
/// by instantiating the worker class.
@main
struct SergeantCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant",
        abstract: "Push, count and purge the tasks of a sergeant worker.",
        discussion: "Example: sergeant push --worker-module=./libconsumer.so --worker-class=Worker --kwargs '{\"some_parameter\":\"one\"}'",
        subcommands: [Push.self, Purge.self, Count.self, Dead.self, Stats.self, Web.self]
    )
}

// MARK: - Shared options

/// Which worker's queue to use, and where its broker is.
struct WorkerOptions: ParsableArguments {
    @Option(name: .customLong("worker-module"), help: "Path of the worker plugin, e.g. ./libconsumer.so.")
    var workerModule: String

    @Option(name: .customLong("worker-class"), help: "Worker class exported by the module.")
    var workerClass: String

    @Option(name: .customLong("task-name"), help: "Queue to use instead of the worker's own (sergeant's task_name).")
    var taskName: String?

    @Option(name: .customLong("redis"),
            help: "Use this Redis instead of the plugin's connector: redis://[[USER]:PASSWORD@]HOST:PORT/DB, rediss://... for TLS (or env SERGEANT_REDIS).")
    var redis: String?

    @Option(name: .customLong("retry-for"),
            help: "Seconds to keep retrying an unreachable Redis before giving up (a worker retries for 30).")
    var retryFor: Double = 5

    func validate() throws {
        _ = try redisNodes()
        guard retryFor >= 0, retryFor.isFinite else { throw ValidationError("--retry-for must be a number of seconds, 0 or more") }
    }

    func redisNodes() throws -> [RedisNode]? {
        do { return try Environment.redisNodes(option: redis) } catch { throw ValidationError(error.description) }
    }

    /// Reads the plugin's configuration (the plugin runs once, with no broker) and opens the
    /// broker it names.
    func open() throws -> (broker: Broker, queue: String) {
        let logger = Logger(label: "sergeant") { SergeantLogHandler(label: $0) }
        do {
            var config = try PluginModule(path: workerModule).configuration(of: workerClass, logger: logger)
            if let nodes = try redisNodes() { config.connector = .redis(nodes: nodes) }
            do {
                return (try Broker(config: config, logger: logger, reconnectTimeout: retryFor), taskName ?? config.name)
            } catch {
                throw CommandFailure(message: error.message, code: WorkerExitCode.invalidConfig.rawValue)
            }
        } catch let error as PluginError {
            throw CommandFailure(message: error.message, code: error.kind.rawValue)
        }
    }
}

/// A failure with a message for the user and an exit code.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }
}

/// Runs a broker operation, turning its error into a message and exit code 1.
func brokerCall<T>(_ body: () throws(BrokerError) -> T) throws -> T {
    do { return try body() } catch {
        var standardError = StandardError()
        print("sergeant: \(error.message)", to: &standardError)
        throw ExitCode(1)
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        SergeantLogHandler.write(line: string, to: .standardError)
    }
}

/// Runs a command body, printing a ``CommandFailure`` as `sergeant: message`.
func reporting(_ body: () throws -> Void) throws {
    do { try body() } catch let failure as CommandFailure {
        var standardError = StandardError()
        print("sergeant: \(failure.message)", to: &standardError)
        throw ExitCode(failure.code)
    }
}

// MARK: - push

struct Push: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Push tasks to the worker's queue.")

    @OptionGroup var worker: WorkerOptions

    @Option(name: .customLong("kwargs"), help: "The task's kwargs as a JSON object; repeat to push several tasks in one round trip.")
    var kwargs: [String] = []

    @Option(name: .customLong("priority"), help: "NORMAL (end of the queue) or HIGH (head of the queue).")
    var priority: String = "NORMAL"

    @Option(name: .customLong("delay"), help: "Seconds before the task may be consumed (a delayed task).")
    var delay: Double?

    @Option(name: .customLong("trace-id"), help: "Trace id to set on the tasks.")
    var traceID: String?

    @Option(name: .customLong("count"), help: "Push the same kwargs this many times (in one round trip).")
    var count: Int = 1

    @Flag(name: .customLong("purge"), help: "Purge the queue before pushing.")
    var purge = false

    @Option(name: .customLong("from-file"),
            help: ArgumentHelp("Push one task per line of this JSON Lines file (one kwargs object a line; - for standard input).",
                               discussion: "Pushed in chunks of --chunk-size tasks, one round trip each, with progress on a terminal."))
    var fromFile: String?

    @Flag(name: .customLong("skip-bad-lines"), help: "With --from-file: report a line that is not a JSON object and go on (default: stop there).")
    var skipBadLines = false

    @Option(name: .customLong("start-line"), help: "With --from-file: begin at this line (1 = the first), to resume an interrupted run.")
    var startLine: Int = 1

    @Option(name: .customLong("chunk-size"), help: "With --from-file: tasks per round trip.")
    var chunkSize: Int = 1000

    func validate() throws {
        if fromFile != nil {
            guard kwargs.isEmpty else { throw ValidationError("give either --kwargs or --from-file, not both") }
            guard startLine >= 1 else { throw ValidationError("--start-line counts from 1") }
            guard chunkSize >= 1 else { throw ValidationError("--chunk-size must be at least 1") }
            guard TaskPriority(rawValue: priority.uppercased()) != nil else { throw ValidationError("--priority must be NORMAL or HIGH") }
            return
        }
        guard !kwargs.isEmpty else { throw ValidationError("give the task's kwargs with --kwargs '{\"key\": \"value\"}' (or a file with --from-file)") }
        guard TaskPriority(rawValue: priority.uppercased()) != nil else { throw ValidationError("--priority must be NORMAL or HIGH") }
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        for text in kwargs { _ = try parse(text) }
    }

    func parse(_ text: String) throws -> ValueMap {
        let value: Value
        do { value = try Value(json: text) } catch {
            let shown = text.count > 80 ? "\(text.prefix(60))... (\(text.utf8.count) bytes)" : text
            throw ValidationError("--kwargs \(shown): \(error)")
        }
        guard let map = value.mapValue else { throw ValidationError("--kwargs must be a JSON object, got \(value.kindName)") }
        return map
    }

    func run() throws {
        try reporting {
            let (broker, queue) = try worker.open()
            if purge { _ = try brokerCall { () throws(BrokerError) in try broker.purge(queue: queue) } }
            if let fromFile {
                try pushLines(of: fromFile, broker: broker, queue: queue)
                return
            }
            let now = unixTime()
            let maps = try kwargs.map(parse)
            let tasks = (0..<count).flatMap { _ in maps.map { SergeantTask(kwargs: $0, traceID: traceID, date: now) } }
            try brokerCall { () throws(BrokerError) in
                try broker.push(tasks: tasks, queue: queue, priority: TaskPriority(rawValue: priority.uppercased())!,
                                consumableFrom: delay.map { now + $0 })
            }
            print("pushed \(tasks.count) task(s) to \(queue)")
        }
    }
}

// MARK: - purge

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete every task of the worker's queue, delayed ones included.")

    @OptionGroup var worker: WorkerOptions

    func run() throws {
        try reporting {
            let (broker, queue) = try worker.open()
            let existed = try brokerCall { () throws(BrokerError) in try broker.purge(queue: queue) }
            print(existed ? "purged \(queue)" : "\(queue) was already empty")
        }
    }
}

// MARK: - count

struct Count: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the number of tasks waiting in the worker's queue.")

    @OptionGroup var worker: WorkerOptions

    @Flag(name: .customLong("include-delayed"), help: "Count delayed tasks that are not due yet too.")
    var includeDelayed = false

    func run() throws {
        try reporting {
            let (broker, queue) = try worker.open()
            print(try brokerCall { () throws(BrokerError) in try broker.count(queue: queue, includeDelayed: includeDelayed) })
        }
    }
}
