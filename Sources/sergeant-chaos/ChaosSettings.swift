// MARK: - ChaosSettings

/// Everything a run was asked for.
struct ChaosSettings {
    /// `redis` or `local` (the SQLite file, no redis-server).
    var connector: String
    /// With `redis`: one redis-server, a sentinel-monitored master or a cluster.
    var broker: ChaosBroker
    /// The workers' and the producer's `durability` (`acknowledged` or `replicated`, WAIT 1);
    /// only with `--broker sentinel` or `cluster`, which have replicas.
    var durability: String
    var tasks: Int
    var workers: Int
    var batch: Int
    /// max_concurrent_tasks of the workers; 0: the serial executor.
    var concurrentTasks: Int
    var maxFaults: Int
    var kinds: [FaultKind]
    /// How often each kind is chosen once every kind ran once (relative weights).
    var weights: [FaultKind: Int]
    var minInterval: Double
    var maxInterval: Double
    var redisDowntime: Double
    var seed: UInt64
    var timeout: Double
    var queue: String
    var plugin: String
    var bin: String
    var workDir: String?
    var keep: Bool
}
