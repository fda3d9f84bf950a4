import SergeantCore

// MARK: - OutcomeCounts

/// How many task runs ended how, for one queue: the fleet-wide counters that workers add to
/// the broker inside round trips they already make (``Broker/record(_:queue:)``), and the
/// per-minute rates `sergeant stats` and `/metrics` show.
///
/// Every run counts, duplicates too: a task that was in flight when its worker died is run
/// again by another worker and that run counts as one more (`processed` is runs, not distinct
/// tasks). A run whose worker died before its counts reached the broker is not counted; the
/// task itself is then run again (at-least-once), and that run is.
///
/// ```swift
/// var counts = OutcomeCounts()
/// counts.add(outcome: "success")   // processed 1, succeeded 1
/// counts.add(outcome: "retry")     // processed 2, retried 1
/// ```
public struct OutcomeCounts: Codable, Sendable, Hashable {
    /// Runs that ended, whatever the outcome.
    public var processed: Int = 0
    /// Runs whose `work` returned.
    public var succeeded: Int = 0
    /// Runs whose `work` threw (and were not retried by their handler).
    public var failed: Int = 0
    /// Runs that ended in a retry (the task was pushed again with run_count + 1).
    public var retried: Int = 0
    /// Runs that reached max_retries (the task was not pushed again).
    public var maxRetries: Int = 0
    /// Runs that went past their timeout.
    public var timedOut: Int = 0
    /// Runs that ended in a requeue (the task was pushed again unchanged).
    public var requeued: Int = 0
    /// Runs that asked every worker to stop, or for their process to be replaced.
    public var stopped: Int = 0
    /// Tasks returned to the queue because their worker died with them in flight.
    public var recovered: Int = 0
    /// Tasks set aside in `NAME.dead` (poison tasks, undecodable bytes).
    public var deadLettered: Int = 0
    /// Connections to the broker that workers had to make again after losing one.
    public var brokerReconnects: Int = 0

    /// Runs per duration bucket (``durationBounds``; the last bucket holds the runs above the
    /// largest bound); empty when no duration was counted.
    public var durationBuckets: [Int] = []
    /// Seconds all counted runs took together.
    public var durationSeconds: Double = 0

    /// Upper bounds in seconds of the duration buckets (Prometheus's `le`).
    public static let durationBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]

    /// No counts.
    public init() {}

    /// Counts one run's duration in seconds (the outcome is counted by ``add(outcome:count:)``).
    public mutating func add(duration seconds: Double) {
        if durationBuckets.isEmpty { durationBuckets = Array(repeating: 0, count: Self.durationBounds.count + 1) }
        var index = 0
        while index < Self.durationBounds.count && seconds > Self.durationBounds[index] { index += 1 }
        durationBuckets[index] += 1
        durationSeconds += seconds
    }

    /// The broker's field name of each counter, in display order.
    public static let fields: [(name: String, path: WritableKeyPath<OutcomeCounts, Int> & Sendable)] = [
        ("processed", \.processed), ("succeeded", \.succeeded), ("failed", \.failed), ("retried", \.retried),
        ("max_retries", \.maxRetries), ("timed_out", \.timedOut), ("requeued", \.requeued), ("stopped", \.stopped),
        ("recovered", \.recovered), ("dead_lettered", \.deadLettered), ("broker_reconnects", \.brokerReconnects),
    ]

    /// Counts one run that ended with the outcome named `outcome` (``TaskOutcome``'s names:
    /// `success`, `failure`, `retry`, `max_retries`, `requeue`, `timeout`, `stop`, `respawn`).
    public mutating func add(outcome: String, count: Int = 1) {
        processed += count
        switch outcome {
        case "success": succeeded += count
        case "failure": failed += count
        case "retry": retried += count
        case "max_retries": maxRetries += count
        case "timeout": timedOut += count
        case "requeue": requeued += count
        default: stopped += count
        }
    }

    /// True when every counter is 0.
    public var isZero: Bool {
        processed == 0 && succeeded == 0 && failed == 0 && retried == 0 && maxRetries == 0 && timedOut == 0
            && requeued == 0 && stopped == 0 && recovered == 0 && deadLettered == 0 && brokerReconnects == 0
            && durationSeconds == 0 && durationBuckets.allSatisfy { $0 == 0 }
    }

    /// The counter stored under `field`, nil for an unknown field.
    public subscript(field field: String) -> Int? {
        get { Self.fields.first { $0.name == field }.map { self[keyPath: $0.path] } }
        set {
            guard let path = Self.fields.first(where: { $0.name == field })?.path else { return }
            self[keyPath: path] = newValue ?? 0
        }
    }

    /// The sum of two sets of counts.
    public static func + (lhs: OutcomeCounts, rhs: OutcomeCounts) -> OutcomeCounts {
        var sum = lhs
        sum += rhs
        return sum
    }

    /// Adds `rhs` to `lhs`, field by field (once per finished batch: no key paths).
    public static func += (lhs: inout OutcomeCounts, rhs: OutcomeCounts) {
        lhs.processed += rhs.processed
        lhs.succeeded += rhs.succeeded
        lhs.failed += rhs.failed
        lhs.retried += rhs.retried
        lhs.maxRetries += rhs.maxRetries
        lhs.timedOut += rhs.timedOut
        lhs.requeued += rhs.requeued
        lhs.stopped += rhs.stopped
        lhs.recovered += rhs.recovered
        lhs.deadLettered += rhs.deadLettered
        lhs.brokerReconnects += rhs.brokerReconnects
        if lhs.durationBuckets.isEmpty { lhs.durationBuckets = rhs.durationBuckets } else if !rhs.durationBuckets.isEmpty {
            for index in lhs.durationBuckets.indices where index < rhs.durationBuckets.count {
                lhs.durationBuckets[index] += rhs.durationBuckets[index]
            }
        }
        lhs.durationSeconds += rhs.durationSeconds
    }

    enum CodingKeys: String, CodingKey {
        case processed, succeeded, failed, retried, maxRetries = "max_retries", timedOut = "timed_out", requeued, stopped,
             recovered, deadLettered = "dead_lettered", brokerReconnects = "broker_reconnects", durationBuckets = "duration_buckets", durationSeconds = "duration_seconds"
    }
}
