// MARK: - SoakSettings

/// One soak's parameters, as the command line gave them.
struct SoakSettings: Sendable {
    /// Tasks pushed and worked per executor.
    var tasks: Int
    /// Worker processes (sergeant-host --concurrent-workers).
    var workers: Int
    /// Threads per worker of the threaded executor.
    var threads: Int
    /// Tasks each worker pulls per transaction.
    var tasksPerTransaction: Int
    /// Most tasks waiting in the queue: the producer tops it up to this depth.
    var depth: Int
    /// Tasks per push (one RPUSH).
    var chunk: Int
    /// The share of the tasks worked before the baseline sample (0.1: the first 10%).
    var warmUp: Double
    /// Seconds from the first push before the baseline sample, at least.
    var warmUpSeconds: Double
    /// Most tasks pushed a second; nil: as fast as the workers take them.
    var rate: Double?
    /// Seconds between two samples.
    var interval: Double
    /// Largest resident-memory growth of a worker after warm-up that passes, in percent.
    var rssGrowthLimit: Double
    /// Seconds a run may take.
    var timeout: Double
    /// The directory holding sergeant-host and sergeant-worker.
    var bin: String
    /// The benchmark plugin's .so.
    var plugin: String
    /// Queue name.
    var queue: String
}
