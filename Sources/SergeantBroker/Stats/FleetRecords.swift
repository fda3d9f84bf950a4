import SergeantCore

// MARK: - FleetRecords

/// The ability to keep the fleet's state in the broker: worker records renewed with the
/// heartbeat, outcome counters added inside round trips a worker already makes, and a read of
/// it all for ``FleetSnapshot``. A connector without it (the local one) shows queue depth
/// only, and the throughput history if it keeps one (``ThroughputRecords``).
public protocol FleetRecords: ThroughputRecords {
    /// Writes `record` for ``ttl`` seconds, lists its worker among the queue's and the queue
    /// among the fleet's.
    func publish(_ record: WorkerRecord, _ keys: KeySpace, ttl: Int) throws(BrokerError)
    /// Deletes the record of `worker`, known dead (its supervisor reaped it), so it does not
    /// look alive until its heartbeat would have expired.
    func forget(worker: String, _ keys: KeySpace) throws(BrokerError)
    /// The queues that live workers have listed (``publish(_:_:ttl:)``).
    func fleetQueues() throws(BrokerError) -> [String]
    /// Everything the broker knows of one queue, at unix time `now`.
    func queueStats(_ keys: KeySpace, now: Double, heartbeatInterval: Double) throws(BrokerError) -> QueueStats
}

// MARK: - ThroughputRecords

/// The ability to count outcomes per time bucket in the broker (``RateBuckets``), inside round
/// trips (or transactions) a worker already makes, and to read the last hour of them back: the
/// dashboard's throughput chart, the same on every host. Bounded: a bucket lives
/// ``RateBuckets/ttl`` seconds (Redis: an expiring hash; local: rows older than
/// ``RateBuckets/history`` buckets are deleted by the write that adds a newer one).
public protocol ThroughputRecords: QueueConnector {
    /// Adds `counts` to the queue's counters and to the rate bucket of unix time `time`. No
    /// round trip of its own: the commands go out ahead of a round trip the connector makes
    /// anyway (a pop, an acknowledgement, a push), in the same write; Redis adds counts up in
    /// memory and writes them at most once a second after the first (local: in its next
    /// transaction).
    func stage(_ counts: OutcomeCounts, _ keys: KeySpace, at time: Double)
    /// Sends what ``stage(_:_:at:)`` holds now, if anything, in a round trip of its own.
    func flushStaged() throws(BrokerError)
    /// The counters of each bucket of `buckets` (``RateBuckets/index(of:)``), in that order; a
    /// bucket nothing was counted in (or that expired) is all zero.
    func throughput(_ keys: KeySpace, buckets: ClosedRange<Int>) throws(BrokerError) -> [OutcomeCounts]
}

// MARK: - RateBuckets

/// The per-time-bucket counters behind the rates and the throughput chart: one hash per
/// ``width`` seconds that expires after ``ttl`` seconds, so a queue never holds more than
/// ``history`` + 2 of them.
public enum RateBuckets {
    /// Seconds per bucket.
    public static let width = 10.0
    /// Buckets the throughput history keeps: an hour.
    public static let history = 360
    /// Seconds a bucket lives: until it is ``history`` buckets old, plus a margin.
    public static let ttl = Int(width) * (history + 2)
    /// Buckets summed for the last minute: the current one and the five before it.
    public static let perMinute = 6

    /// The bucket of unix time `time`.
    public static func index(of time: Double) -> Int { Int((time / width).rounded(.down)) }

    /// The buckets of the last minute at `time`, and the seconds they cover.
    public static func lastMinute(at time: Double) -> (buckets: [Int], seconds: Double) {
        let current = index(of: time)
        let covered = Double(perMinute - 1) * width + (time - Double(current) * width)
        return (Array((current - perMinute + 1)...current), covered)
    }
}
