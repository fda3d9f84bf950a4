#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Logging
import SergeantCore
import SergeantPluginLoader
import SergeantBroker
import SergeantHost
import SergeantMetrics

// MARK: - sergeant-host

/// `sergeant-host`: argument parsing only; the work happens in SergeantHost.
@main
struct SergeantHostCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-host",
        abstract: "Run sergeant workers from a plugin module.",
        discussion: """
            Spawns --concurrent-workers worker processes. Each loads the plugin module with dlopen, \
            creates --worker-class through the module's sergeant_worker_create factory, and pulls \
            tasks from the queue the worker's configuration names. Workers that end are respawned; \
            SIGTERM or SIGINT stops them all (each finishes its task first) and exits 0.

            Worker processes run sergeant-worker, which must be in the same directory as \
            sergeant-host.

            Exit codes: \(WorkerExitCode.hostCodesHelp).

            Example:
              sergeant-host --worker-module=./libconsumer.so --worker-class=Worker --concurrent-workers=1
            """
    )

    @Option(name: .customLong("worker-module"), help: "Path of the plugin's shared library, e.g. ./libconsumer.so.")
    var workerModule: String

    @Option(name: .customLong("worker-class"), help: "Name of the worker class the module exports.")
    var workerClass: String

    @Option(name: [.customLong("concurrent-workers"), .customLong("concurrent-worker")],
            help: "Number of worker processes (--concurrent-worker is accepted too).")
    var concurrentWorkers: Int = 1

    @Option(name: .customLong("max-worker-memory-usage"),
            help: "Replace a worker whose resident memory exceeds this many bytes.")
    var maxWorkerMemoryUsage: Int?

    @Option(name: .customLong("redis"),
            help: ArgumentHelp("Use this Redis instead of the plugin's connector: redis://[:PASSWORD@]HOST:PORT/DB.",
                               discussion: "Also read from the SERGEANT_REDIS environment variable, which keeps a password out of `ps`."))
    var redis: String?

    @Option(name: .customLong("grace-period"), help: "Seconds workers get to finish their task after SIGTERM.")
    var gracePeriod: Double = 10

    @Option(name: .customLong("log-format"),
            help: "sergeant (Python sergeant's lines, the default) or json (one object a line: time, level, logger, pid, message, metadata), for the supervisor and its workers.")
    var logFormat: String?

    @Option(name: .customLong("metrics-port"),
            help: ArgumentHelp("Serve Prometheus metrics on this port at GET /metrics (0: a free port, logged).",
                               discussion: "The supervisor's workers (restarts, memory) and, with --redis or SERGEANT_REDIS, the fleet's queues as the broker holds them."))
    var metricsPort: Int?

    @Option(name: .customLong("metrics-host"), help: "Address the metrics server binds (with --metrics-port).")
    var metricsHost: String = "127.0.0.1"

    func validate() throws {
        if let metricsPort, !(0...65535).contains(metricsPort) {
            throw ValidationError("--metrics-port must be a port number from 0 to 65535 (got \(metricsPort))")
        }
        guard concurrentWorkers >= 1 else {
            throw ValidationError("--concurrent-workers must be at least 1 (got \(concurrentWorkers))")
        }
        if let maxWorkerMemoryUsage, maxWorkerMemoryUsage <= 0 {
            throw ValidationError("--max-worker-memory-usage must be a positive number of bytes (got \(maxWorkerMemoryUsage))")
        }
        guard gracePeriod >= 0 else { throw ValidationError("--grace-period must not be negative") }
        if let logFormat, LogFormat(rawValue: logFormat) == nil {
            throw ValidationError("--log-format must be sergeant or json (got \(logFormat))")
        }
        _ = try redisNodes()
    }

    func redisNodes() throws -> [RedisNode]? {
        do { return try Environment.redisNodes(option: redis) } catch { throw ValidationError(error.description) }
    }

    func run() throws {
        let format = logFormat.flatMap(LogFormat.init(rawValue:))
        let logger = Logger(label: "supervisor") { SergeantLogHandler(label: $0, destination: .standardOutput, format: format ?? .sergeant) }
        // Workers run a small executable of their own (no ArgumentParser, no Foundation), for
        // the resident memory of each worker.
        let worker: String
        do { worker = try Supervisor.workerExecutable() } catch {
            logger.critical("\(error)")
            throw ExitCode(1)
        }
        // The URL (with any password) goes to workers through the environment, not argv.
        let launch = WorkerLaunch(modulePath: workerModule, className: workerClass,
                                  redisURL: redis ?? Environment.value("SERGEANT_REDIS"),
                                  reconnectTimeout: Environment.value("SERGEANT_RECONNECT_TIMEOUT").flatMap(Double.init),
                                  logFormat: format)
        var options = Supervisor.Options(workerExecutable: worker, launch: launch, concurrentWorkers: concurrentWorkers,
                                         maxWorkerMemoryUsage: maxWorkerMemoryUsage, gracePeriod: gracePeriod)
        var exporter: HostMetricsExporter?
        if let metricsPort {
            // The supervisor never loads the plugin, so it knows the broker only from --redis.
            let broker = try redisNodes().flatMap { nodes in
                try? Broker(config: WorkerConfig(name: "sergeant-host", connector: .redis(nodes: nodes)), logger: logger, reconnectTimeout: 2)
            }
            do { exporter = try HostMetricsExporter(host: metricsHost, port: metricsPort, broker: broker) } catch {
                logger.critical("\(error)")
                throw ExitCode(1)
            }
            options.metricsFactory = exporter!.factory
            logger.info("serving metrics on http://\(metricsHost):\(exporter!.port)/metrics",
                        metadata: ["port": "\(exporter!.port)"])
        }
        let supervisor = Supervisor(options: options, logger: logger)
        let code = supervisor.run()
        exporter?.close()
        throw ExitCode(code)
    }
}
