#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import ArgumentParser
import Logging
import SergeantBroker
import SergeantCore
import SergeantMetrics
import SergeantPluginLoader

// MARK: - stats

/// `sergeant stats`: the fleet as the broker holds it (every host's workers), as a table, as
/// JSON, or refreshed in place.
struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show queues, in-flight tasks, outcome counters and live workers of the whole fleet.",
        discussion: """
            Reads the broker only, so it shows every host's workers. Queues are those live workers \
            publish, plus any named with --task-name. The counters count runs: a task that was in \
            flight when its worker died runs again on another worker, and that run counts once more \
            (a run whose worker died before its counts reached the broker is not counted; its task's \
            next run is). Rates cover the last 50 to 60 seconds. On the local connector only queue \
            depth is known; the rest shows as n/a.
            """
    )

    @Option(name: .customLong("redis"),
            help: "The Redis to read: redis://[:PASSWORD@]HOST:PORT/DB (or env SERGEANT_REDIS).")
    var redis: String?

    @Option(name: .customLong("worker-module"), help: "Or: read the broker this worker plugin's configuration names.")
    var workerModule: String?

    @Option(name: .customLong("worker-class"), help: "Worker class exported by --worker-module.")
    var workerClass: String?

    @Option(name: .customLong("task-name"), help: "A queue to show even without live workers; repeat for several.")
    var taskNames: [String] = []

    @Flag(name: .customLong("json"), help: "Print the snapshot as JSON (the FleetSnapshot type).")
    var json = false

    @Flag(name: .customLong("prometheus"), help: "Print the snapshot as Prometheus metrics (the text exposition format).")
    var prometheus = false

    @Flag(name: .customLong("watch"), help: "Refresh in place every --interval seconds until interrupted (on a terminal).")
    var watch = false

    @Option(name: .customLong("interval"), help: "Seconds between refreshes with --watch.")
    var interval: Double = 2

    @Option(name: .customLong("retry-for"), help: "Seconds to keep retrying an unreachable Redis before giving up.")
    var retryFor: Double = 5

    func validate() throws {
        do { _ = try Environment.redisNodes(option: redis) } catch { throw ValidationError(error.description) }
        guard (workerModule == nil) == (workerClass == nil) else {
            throw ValidationError("give --worker-module and --worker-class together")
        }
        guard !(json && prometheus) else { throw ValidationError("give --json or --prometheus, not both") }
        guard interval > 0, interval.isFinite else { throw ValidationError("--interval must be a number of seconds above 0") }
    }

    /// The broker to read, and the queue of the worker plugin if one was given.
    func open() throws -> (broker: Broker, connector: String, queue: String?) {
        let logger = Logger(label: "sergeant") { SergeantLogHandler(label: $0) }
        var config: WorkerConfig
        var queue: String?
        if let workerModule, let workerClass {
            do { config = try PluginModule(path: workerModule).configuration(of: workerClass, logger: logger) } catch {
                throw CommandFailure(message: error.message, code: error.kind.rawValue)
            }
            queue = config.name
        } else {
            config = WorkerConfig(name: "sergeant-stats", connector: .redis(nodes: [RedisNode()]))
        }
        if let nodes = try Environment.redisNodes(option: redis) { config.connector = .redis(nodes: nodes) }
        do {
            return (try Broker(config: config, logger: logger, reconnectTimeout: retryFor), "\(config.connector.type)", queue)
        } catch {
            throw CommandFailure(message: error.message, code: WorkerExitCode.invalidConfig.rawValue)
        }
    }

    func run() throws {
        try reporting {
            let (broker, connector, queue) = try open()
            let names = (queue.map { [$0] } ?? []) + taskNames.filter { $0 != queue }
            let terminal = isatty(STDOUT_FILENO) != 0
            repeat {
                let snapshot = try brokerCall { () throws(BrokerError) in try broker.snapshot(queues: names, connectorType: connector) }
                let text: String
                if json {
                    text = try Self.json(snapshot)
                } else if prometheus {
                    let metrics = FleetMetrics()
                    metrics.update(with: snapshot)
                    text = metrics.exposition()
                } else {
                    text = StatsTable(snapshot).render()
                }
                if watch && terminal {
                    // Home, clear the screen: the table redraws in place.
                    print("\u{1B}[H\u{1B}[2J" + text, terminator: "")
                } else {
                    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                }
                fflush(nil)
                if watch { usleep(UInt32(interval * 1_000_000)) }
            } while watch
        }
    }

    /// The snapshot as pretty JSON.
    static func json(_ snapshot: FleetSnapshot) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(snapshot), as: UTF8.self)
    }
}
