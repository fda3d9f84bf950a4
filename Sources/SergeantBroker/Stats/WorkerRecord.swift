import SergeantCore

// MARK: - WorkerRecord

/// What a live worker process says about itself in the broker: written when it starts and
/// renewed with each heartbeat (from the heartbeat thread, never per task), so any host's
/// `sergeant stats` sees the whole fleet. It expires with the heartbeat when the worker dies.
public struct WorkerRecord: Codable, Sendable, Hashable {
    /// The worker's name in in-flight records (`HOST-PID-RANDOM`).
    public var worker: String
    /// The host the worker runs on.
    public var hostName: String
    /// The worker's process id on that host.
    public var pid: Int
    /// The queue it pulls from.
    public var queue: String
    /// `serial`, or `threaded(N)`.
    public var executor: String
    /// Unix time the worker started.
    public var startedAt: Double
    /// Unix time of this record (the last heartbeat).
    public var updatedAt: Double
    /// Task runs the worker has finished.
    public var tasksDone: Int
    /// Its resident memory in bytes, 0 when unknown.
    public var residentBytes: Int
    /// The task it is running, if any.
    public var running: RunningTask?

    /// The task a worker is running.
    public struct RunningTask: Codable, Sendable, Hashable {
        /// The task's trace id, if it has one.
        public var traceID: String?
        /// Unix time the run started.
        public var since: Double

        /// Creates the description of a running task.
        public init(traceID: String?, since: Double) {
            self.traceID = traceID
            self.since = since
        }

        enum CodingKeys: String, CodingKey {
            case traceID = "trace_id", since
        }
    }

    /// Creates a record.
    public init(worker: String, hostName: String, pid: Int, queue: String, executor: String, startedAt: Double,
                updatedAt: Double, tasksDone: Int, residentBytes: Int, running: RunningTask?) {
        self.worker = worker
        self.hostName = hostName
        self.pid = pid
        self.queue = queue
        self.executor = executor
        self.startedAt = startedAt
        self.updatedAt = updatedAt
        self.tasksDone = tasksDone
        self.residentBytes = residentBytes
        self.running = running
    }

    enum CodingKeys: String, CodingKey {
        case worker, hostName = "host_name", pid, queue, executor, startedAt = "started_at", updatedAt = "updated_at",
             tasksDone = "tasks_done", residentBytes = "resident_bytes", running
    }

    /// The record as the broker stores it (msgpack).
    public func encoded() -> [UInt8] {
        // Encoding plain integers, doubles and strings cannot fail.
        ((try? Value(encoding: self)) ?? .null).messagePack()
    }

    /// A record the broker stored; nil for bytes that are not one.
    public init?(encoded bytes: [UInt8]) {
        guard let value = try? Value(messagePack: bytes), let record = try? value.decode(WorkerRecord.self) else { return nil }
        self = record
    }
}
