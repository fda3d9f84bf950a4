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

            A worker that crashes (a signal such as a segfault in plugin code, or an abnormal exit) \
            is respawned after a backoff that doubles from 0.1 s up to --max-respawn-delay for each \
            failure in a row of its slot, and resets once a worker has run --respawn-reset-after \
            seconds. The host never gives up: a task that kills its worker max_deaths times \
            (the configuration's max_deaths, 3 by default) is set aside in NAME.dead instead.

            SIGHUP replaces the workers one at a time with processes that load the module file anew \
            (deploy by writing the new .so beside the old one and renaming it over the old path). \
            First a child process checks that the module loads and gives its configuration; if it \
            does not, every running worker stays and the reason is logged. Then, for each worker, a \
            new one starts, and once it is ready the old one gets SIGTERM and --grace-period seconds \
            to finish its task, so no task is lost and some worker always runs. \
            systemd: ExecReload=/bin/kill -HUP $MAINPID.

            Worker processes run sergeant-worker, which must be in the same directory as \
            sergeant-host.

            Exit codes: \(WorkerExitCode.hostCodesHelp). Codes 3 to 7 come from a module that does \
            not load at start; once a worker has been ready, one that cannot load the module is \
            retried with the backoff instead.

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
            help: ArgumentHelp("Use this Redis instead of the plugin's connector: redis://[[USER]:PASSWORD@]HOST:PORT/DB, rediss://... for TLS.",
                               discussion: "Also read from the SERGEANT_REDIS environment variable, which keeps a password out of `ps`."))
    var redis: String?

    @Option(name: .customLong("grace-period"), help: "Seconds workers get to finish their task after SIGTERM.")
    var gracePeriod: Double = 10

    @Option(name: .customLong("max-respawn-delay"),
            help: "Longest wait, in seconds, before a crashed worker is replaced, however many crashes in a row.")
    var maxRespawnDelay: Double = RespawnBackoff().maxDelay

    @Option(name: .customLong("respawn-reset-after"),
            help: "Seconds a worker must run for its slot's crash count (and so its respawn delay) to go back to zero.")
    var respawnResetAfter: Double = RespawnBackoff().resetAfter

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
        guard maxRespawnDelay >= 0, maxRespawnDelay.isFinite else {
            throw ValidationError("--max-respawn-delay must be a number of seconds, 0 or more (got \(maxRespawnDelay))")
        }
        guard respawnResetAfter > 0, respawnResetAfter.isFinite else {
            throw ValidationError("--respawn-reset-after must be a positive number of seconds (got \(respawnResetAfter))")
        }
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
                                         maxWorkerMemoryUsage: maxWorkerMemoryUsage, gracePeriod: gracePeriod,
                                         backoff: RespawnBackoff(initialDelay: min(0.1, maxRespawnDelay), maxDelay: maxRespawnDelay,
                                                                 resetAfter: respawnResetAfter))
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
