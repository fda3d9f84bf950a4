// MARK: - ChaosSettings

/// Everything a run was asked for.
struct ChaosSettings {
    /// `redis` or `local` (the SQLite file, no redis-server).
    var connector: String
    /// The Redis topology (`--broker`).
    var broker: ChaosBroker
    var tasks: Int
    var workers: Int
    var batch: Int
    /// max_concurrent_tasks of the workers; 0: the serial executor.
    var concurrentTasks: Int
    var maxFaults: Int
    var kinds: [FaultKind]
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
