import SergeantCore

// MARK: - FleetSnapshot

/// The state of a fleet of workers as the broker holds it, read in one go by
/// ``Broker/snapshot(queues:)``: what `sergeant stats` prints (as a table, or as JSON with
/// `--json`), what `/metrics` exports and what a dashboard shows. It reads the broker only, so
/// it covers every host's workers, not one supervisor's.
///
/// A connector that keeps no fleet records (the local one) fills what it can (queue depth)
/// and leaves the rest nil ("n/a").
public struct FleetSnapshot: Codable, Sendable {
    /// Unix time the snapshot was taken.
    public var takenAt: Double
    /// The connector type (`redis`, `local`).
    public var connector: String
    /// One entry per queue, by name.
    public var queues: [QueueStats]

    /// Creates a snapshot.
    public init(takenAt: Double, connector: String, queues: [QueueStats]) {
        self.takenAt = takenAt
        self.connector = connector
        self.queues = queues
    }

    enum CodingKeys: String, CodingKey {
        case takenAt = "taken_at", connector, queues
    }
}

// MARK: - QueueStats

/// One queue of a ``FleetSnapshot``. Optional fields are nil where the connector cannot tell.
public struct QueueStats: Codable, Sendable {
    /// The queue's name.
    public var name: String
    /// Tasks waiting to be pulled: the queue list and the tasks recovered from dead workers
    /// (served first), plus due delayed tasks on a connector that cannot tell them apart.
    public var waiting: Int
    /// Delayed tasks whose time has come (pulled when the queue is empty).
    public var delayedDue: Int?
    /// Delayed tasks whose time has not come yet.
    public var delayedLater: Int?
    /// Tasks left by workers ended over a hard timeout, for the next worker's on_timeout.
    public var timedOut: Int?
    /// Tasks set aside in `NAME.dead`.
    public var dead: Int?
    /// Tasks in flight, per worker that has any.
    public var inFlight: [InFlight]?
    /// Counters since the queue's counters began.
    public var totals: OutcomeCounts?
    /// Counters over the last ``rateWindow`` seconds.
    public var lastMinute: OutcomeCounts?
    /// Seconds ``lastMinute`` covers (50 to 60).
    public var rateWindow: Double?
    /// The queue's workers: live ones, and stale ones (a heartbeat that is late or gone).
    public var workers: [WorkerStatus]?

    /// Creates the stats of queue `name` with only its depth known.
    public init(name: String, waiting: Int) {
        self.name = name
        self.waiting = waiting
    }

    /// Tasks in flight in total, nil when unknown.
    public var inFlightTotal: Int? { inFlight.map { $0.reduce(0) { $0 + $1.count } } }

    /// The tasks one worker has in flight.
    public struct InFlight: Codable, Sendable {
        /// The worker's name.
        public var worker: String
        /// Tasks it holds.
        public var count: Int
        /// Seconds since it pulled them (its oldest in-flight task), nil when its record is gone.
        public var oldestAge: Double?

        /// Creates an entry.
        public init(worker: String, count: Int, oldestAge: Double?) {
            self.worker = worker
            self.count = count
            self.oldestAge = oldestAge
        }

        enum CodingKeys: String, CodingKey {
            case worker, count, oldestAge = "oldest_age"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, waiting, delayedDue = "delayed_due", delayedLater = "delayed_later", timedOut = "timed_out", dead,
             inFlight = "in_flight", totals, lastMinute = "last_minute", rateWindow = "rate_window", workers
    }
}

// MARK: - WorkerStatus

/// A worker of a queue as `sergeant stats` shows it.
public struct WorkerStatus: Codable, Sendable {
    /// The worker's name.
    public var worker: String
    /// Its record; nil when its heartbeat expired (it died, or cannot reach the broker).
    public var record: WorkerRecord?
    /// Why it is stale, nil for a live worker: its heartbeat is late, or gone.
    public var stale: String?

    /// Creates a status.
    public init(worker: String, record: WorkerRecord?, stale: String?) {
        self.worker = worker
        self.record = record
        self.stale = stale
    }

    /// The status of `worker` from its record (nil: expired) at unix time `now`: stale when the
    /// heartbeat is more than two intervals old.
    public init(worker: String, record: WorkerRecord?, now: Double, heartbeatInterval: Double) {
        self.worker = worker
        self.record = record
        if let record {
            let age = now - record.updatedAt
            stale = age > 2 * heartbeatInterval ? "heartbeat \(Int(age)) s old" : nil
        } else {
            stale = "heartbeat expired"
        }
    }
}
