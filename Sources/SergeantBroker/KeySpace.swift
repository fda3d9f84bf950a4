// MARK: - KeySpace

/// Every key name of one queue, in one place: the queue list, its delayed set, dead letters,
/// and the at-least-once records (in-flight lists, heartbeats, death counts).
///
/// The names are Python sergeant 0.27's (`NAME`, `NAME.delayed`, `__lock__.NAME`) and this
/// project's own beside them (`NAME.processing.WORKER`, ...). A Redis Cluster connector asks
/// for a hash-tagged key space (`{NAME}`, `{NAME}.delayed`, ...), so that every key of a queue
/// lands in one slot; this is the one place where the tag is added.
///
/// ```swift
/// let keys = KeySpace(queue: "test_worker")
/// keys.queue                  // "test_worker"
/// keys.processing("vm-7-1")   // "test_worker.processing.vm-7-1"
/// KeySpace(queue: "q", hashTag: true).delayed  // "{q}.delayed"
/// ```
public struct KeySpace: Sendable, Hashable {
    /// The queue's name (sergeant's worker `name` or `task_name`).
    public let name: String
    /// The list holding the queue's tasks; every other key starts with it.
    public let queue: String

    /// The key space of queue `name`; `hashTag` wraps the name in `{}` (Redis Cluster).
    public init(queue name: String, hashTag: Bool = false) {
        self.name = name
        queue = hashTag ? "{\(name)}" : name
    }

    /// The sorted set of delayed tasks, scored by `consumable_from`: `NAME.delayed`.
    public var delayed: String { queue + ".delayed" }
    /// Tasks that could not be decoded or kept killing workers: `NAME.dead`.
    public var dead: String { queue + ".dead" }
    /// Tasks taken back from dead workers, served before the queue: `NAME.recovered`.
    public var recovered: String { queue + ".recovered" }
    /// Tasks whose worker was ended over a hard timeout, for the next worker's on_timeout:
    /// `NAME.timedout`.
    public var timedOut: String { queue + ".timedout" }
    /// The set of workers that have had tasks in flight: `NAME.processing`.
    public var processingSet: String { queue + ".processing" }
    /// The hash counting worker deaths per in-flight task: `NAME.deaths`.
    public var deaths: String { queue + ".deaths" }

    /// The tasks `worker` has in flight: `NAME.processing.WORKER`.
    public func processing(_ worker: String) -> String { queue + ".processing." + worker }
    /// What `worker` took over from dead workers and has not pushed back yet:
    /// `NAME.reclaimed.WORKER` (recovered with that worker's own records if it dies too).
    public func reclaimed(_ worker: String) -> String { queue + ".reclaimed." + worker }
    /// The id of `worker`'s last pop, which makes a resent pop safe: `NAME.batch.WORKER`.
    public func batch(_ worker: String) -> String { queue + ".batch." + worker }
    /// `worker`'s heartbeat: `NAME.heartbeat.WORKER`.
    public func heartbeat(_ worker: String) -> String { queue + ".heartbeat." + worker }

    /// The queue's outcome counters since they began (a hash): `NAME.stats`.
    public var stats: String { queue + ".stats" }
    /// The counters of one rate bucket (``RateBuckets``), which expires: `NAME.stats.BUCKET`.
    public func stats(bucket: Int) -> String { queue + ".stats." + String(bucket) }
    /// The set of workers that have published a record (``WorkerRecord``): `NAME.workers`.
    public var workers: String { queue + ".workers" }
    /// `worker`'s record, which expires with its heartbeat: `NAME.worker.WORKER`.
    public func worker(_ worker: String) -> String { queue + ".worker." + worker }
    /// The set of queues whose workers have published records, for the whole broker:
    /// `__sergeant__.queues` (no queue's key, so never hash-tagged).
    public static let fleetQueues = "__sergeant__.queues"

    /// The key lock `name` is stored under, as sergeant: `__lock__.NAME`.
    public static func lock(_ name: String) -> String { "__lock__." + name }
}
