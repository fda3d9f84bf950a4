import ArgumentParser
import Foundation
import SergeantTestSupport

// MARK: - ChaosCommand

/// `make chaos`: fault injection against the real supervisor, worker processes and
/// redis-server. Numbered tasks and one poison task go through the `chaos` fixture plugin
/// (Tests/Fixtures/chaos) while workers, supervisors and redis-server are killed and
/// restarted at random; at the end every number must have run at least once and only the
/// poison task may be in the dead-letter list.
@main
struct ChaosCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sergeant-chaos",
        abstract: "Fault injection: SIGKILL workers and supervisors, restart redis-server, then count lost tasks.",
        discussion: """
            Starts a private redis-server with an append-only file on a free port, pushes --tasks
            numbered tasks and one poison task (which aborts its worker every time), runs
            sergeant-host with the chaos fixture plugin, and while tasks remain injects up to
            --faults faults at random intervals: SIGKILL of a worker, SIGKILL of the supervisor
            (a new one is started), restart of redis-server on the same port and directory.
            Then it waits until the queue and the in-flight lists are empty and prints a summary.
            With --connector local the workers share an SQLite file instead (no redis-server, no
            redis faults). With --broker sentinel the workers reach a master, its replica and three
            sentinels through redis-sentinel:// and the redis fault is a SIGKILL of the master (the
            sentinels promote the replica; the killed server comes back as the new replica);
            --durability replicated makes every write wait for the replica (WAIT 1).

            Exit code 0 when no task was lost and the dead-letter list holds exactly the poison
            task; 1 otherwise (including a run that does not drain before --timeout); 2 when the
            run could not be set up. Repeat a run's choices with --seed (process timing varies).
            """
    )

    @Option(help: "Numbered tasks to push (plus one poison task).")
    var tasks = 20_000

    @Option(help: "Worker processes (sergeant-host --concurrent-workers).")
    var workers = 4

    @Option(help: "Tasks per transaction of the workers (CHAOS_BATCH).")
    var batch = 10

    @Option(name: .customLong("async"), help: "N > 0: the async executor, N tasks in flight per worker (CHAOS_ASYNC).")
    var concurrentTasks = 0

    @Option(help: "Most faults to inject.")
    var faults = 40

    @Option(name: .customLong("min-interval"), help: "Fewest seconds between two faults.")
    var minInterval = 0.3

    @Option(name: .customLong("max-interval"), help: "Most seconds between two faults.")
    var maxInterval = 2.0

    @Option(name: .customLong("fault-kinds"),
            help: "Faults to choose from, comma-separated: worker, supervisor, redis (default: all the connector has).")
    var faultKinds: String?

    @Option(name: .customLong("fault-weights"),
            help: "Relative weights of the fault kinds after each ran once, e.g. worker=1,supervisor=1,redis=4 (default worker=2,supervisor=1,redis=1).")
    var faultWeights: String?

    @Option(help: "The workers' connector: redis (a private redis-server) or local (an SQLite file in the work directory).")
    var connector = "redis"

    @Option(help: "With --connector redis: single (one redis-server), sentinel (master, replica, three sentinels) or cluster (3 masters + 3 replicas, a queue of 3 shards).")
    var broker = ChaosBroker.single

    @Option(help: "With --broker sentinel or cluster: acknowledged (Redis's own) or replicated (WAIT 1 after every write).")
    var durability = "acknowledged"

    @Option(name: .customLong("redis-downtime"), help: "Most seconds redis-server stays down during a restart.")
    var redisDowntime = 1.5

    @Option(help: "Seed of the random choices (printed at start; random when left out).")
    var seed: UInt64?

    @Option(help: "Seconds the whole run may take once the tasks are pushed.")
    var timeout = 600.0

    @Option(help: "Queue name (CHAOS_QUEUE).")
    var queue = "chaos"

    @Option(help: "The chaos plugin (default: the one make fixtures builds, Tests/Plugins/.build/debug/libchaos.so).")
    var plugin: String?

    @Option(help: "Directory holding sergeant and sergeant-host (default: SERGEANT_BIN, else this executable's directory).")
    var bin: String?

    @Option(name: .customLong("work-dir"), help: "Directory for redis data, logs and the output file (default: a new temporary one).")
    var workDir: String?

    @Flag(help: "Keep the work directory after a successful run (a failed run always keeps it).")
    var keep = false

    func validate() throws {
        guard tasks >= 1 else { throw ValidationError("--tasks must be at least 1") }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1") }
        guard concurrentTasks >= 0 else { throw ValidationError("--async must not be negative") }
        guard faults >= 0 else { throw ValidationError("--faults must not be negative") }
        guard minInterval >= 0, maxInterval >= minInterval else {
            throw ValidationError("--min-interval must be at least 0 and at most --max-interval")
        }
        guard redisDowntime >= 0, redisDowntime < 20 else {
            throw ValidationError("--redis-downtime must be between 0 and 20 s (workers give up on redis after 30 s)")
        }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        guard ["redis", "local"].contains(connector) else { throw ValidationError("--connector must be redis or local") }
        guard connector == "redis" || broker == .single else { throw ValidationError("--broker \(broker.rawValue) needs --connector redis") }
        guard ["acknowledged", "replicated"].contains(durability) else {
            throw ValidationError("--durability must be acknowledged or replicated")
        }
        guard durability == "acknowledged" || broker != .single else {
            throw ValidationError("--durability replicated needs --broker sentinel or cluster (a single redis-server has no replica to wait for)")
        }
        _ = try kinds()
        _ = try weights()
    }

    /// ``faultWeights`` by kind; a kind it does not name keeps its default weight.
    func weights() throws -> [FaultKind: Int] {
        var weights: [FaultKind: Int] = [.workerKill: 2, .supervisorKill: 1, .redisRestart: 1]
        guard let faultWeights else { return weights }
        for entry in faultWeights.split(separator: ",") {
            let parts = entry.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, let kind = FaultKind.allCases.first(where: { $0.option == parts[0] }),
                  let weight = Int(parts[1]), weight >= 0 else {
                throw ValidationError("--fault-weights entry '\(entry)' is not KIND=WEIGHT with KIND worker, supervisor, redis or failover"
                    + " and WEIGHT a whole number of at least 0 (e.g. worker=1,supervisor=1,redis=4)")
            }
            weights[kind] = weight
        }
        guard try kinds().contains(where: { (weights[$0] ?? 0) > 0 }) else {
            throw ValidationError("--fault-weights gives every kind of --fault-kinds weight 0; give one a weight of at least 1")
        }
        return weights
    }

    func kinds() throws -> [FaultKind] {
        let redisFaults = connector == "local" ? [] : broker.redisFaults
        let defaults = ([FaultKind.workerKill, .supervisorKill] + redisFaults).map(\.option).joined(separator: ",")
        let names = (faultKinds ?? defaults).split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let kinds = try names.map { name in
            guard let kind = FaultKind.allCases.first(where: { $0.option == name }) else {
                throw ValidationError("unknown fault kind \(name) in --fault-kinds; use worker, supervisor, redis, failover")
            }
            return kind
        }
        guard !kinds.isEmpty else { throw ValidationError("--fault-kinds names no fault") }
        for kind in kinds where [.redisRestart, .masterKill].contains(kind) && !redisFaults.contains(kind) {
            throw ValidationError(connector == "local"
                ? "--fault-kinds \(kind.option) needs --connector redis: the local connector runs no redis-server"
                : "--fault-kinds \(kind.option) is not a fault of --broker \(broker.rawValue); use \(redisFaults.map(\.option).joined(separator: ", "))")
        }
        return kinds
    }

    func run() throws {
        signal(SIGPIPE, SIG_IGN)
        installInterruptHandlers()
        let seed = seed ?? UInt64.random(in: 0...UInt64.max)
        let settings = ChaosSettings(
            connector: connector, broker: broker, durability: durability, tasks: tasks, workers: workers, batch: batch, concurrentTasks: concurrentTasks, maxFaults: faults, kinds: try kinds(), weights: try weights(), minInterval: minInterval,
            maxInterval: maxInterval, redisDowntime: redisDowntime, seed: seed, timeout: timeout, queue: queue,
            plugin: try plugin ?? ProjectPaths.fixturePackage("chaos"), bin: bin ?? ProjectPaths.toolBinaries,
            workDir: workDir, keep: keep
        )
        throw ExitCode(ChaosRun(settings).execute())
    }
}
