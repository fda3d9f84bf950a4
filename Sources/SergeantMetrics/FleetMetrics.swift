import CoreMetrics
import Prometheus
import SergeantBroker
import SergeantCore

// MARK: - FleetMetrics

/// The fleet's state as Prometheus metrics: each ``update(with:)`` sets the gauges from a
/// ``FleetSnapshot`` and moves the counters and the duration histogram by what the broker's
/// counters grew since the last update; swift-prometheus's registry writes the text
/// exposition format (``exposition()``). One instance lives as long as its exporter (a
/// dashboard, `sergeant-host --metrics-port`), so the counters only ever grow.
///
/// ```swift
/// let metrics = FleetMetrics()
/// metrics.update(with: try broker.snapshot())
/// let text = metrics.exposition()  // "# TYPE sergeant_queue_waiting_tasks gauge\n..."
/// ```
public final class FleetMetrics: @unchecked Sendable {
    /// The registry the metrics live in (to add a process's own metrics beside them).
    public let registry: PrometheusCollectorRegistry
    private let lock = Mutex()
    /// Per queue: the broker's counters at the last update.
    private var seen: [String: OutcomeCounts] = [:]
    /// Per queue: the worker gauges set at the last update, to zero those that went away.
    private var workerGauges: [String: [Prometheus.Gauge]] = [:]

    /// Metrics in `registry` (a new one by default).
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// The metrics in the text exposition format.
    public func exposition() -> String {
        lock.withLock { registry.emitToString() }
    }

    /// Sets every metric from `snapshot`.
    public func update(with snapshot: FleetSnapshot) {
        lock.withLock {
            for queue in snapshot.queues { update(queue, at: snapshot.takenAt) }
        }
    }

    private func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Prometheus.Gauge {
        registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "sergeant", metricName: name, unitName: "", helpText: help),
                           labels: labels)
    }

    private func update(_ queue: QueueStats, at time: Double) {
        let labels = [("queue", queue.name)]
        gauge("queue_waiting_tasks", "Tasks waiting to be pulled (the queue and recovered tasks).", labels).set(Int64(queue.waiting))
        if let due = queue.delayedDue {
            gauge("queue_delayed_tasks", "Delayed tasks, due or not yet.", labels + [("due", "true")]).set(Int64(due))
        }
        if let later = queue.delayedLater {
            gauge("queue_delayed_tasks", "Delayed tasks, due or not yet.", labels + [("due", "false")]).set(Int64(later))
        }
        if let inFlight = queue.inFlightTotal {
            gauge("queue_in_flight_tasks", "Tasks pulled by workers and not acknowledged yet.", labels).set(Int64(inFlight))
        }
        if let timedOut = queue.timedOut {
            gauge("queue_timed_out_tasks", "Tasks left by workers ended over a hard timeout.", labels).set(Int64(timedOut))
        }
        if let dead = queue.dead {
            gauge("queue_dead_tasks", "Tasks set aside in the dead-letter list.", labels).set(Int64(dead))
        }
        if let workers = queue.workers {
            let live = workers.filter { $0.stale == nil }
            gauge("workers", "Workers of the queue, live or stale.", labels + [("state", "live")]).set(Int64(live.count))
            gauge("workers", "Workers of the queue, live or stale.", labels + [("state", "stale")]).set(Int64(workers.count - live.count))
            let current = live.compactMap(\.record).map { record in
                let memory = gauge("worker_resident_bytes", "Resident memory of a live worker process.",
                                   labels + [("host", record.hostName), ("pid", String(record.pid))])
                memory.set(Int64(record.residentBytes))
                return memory
            }
            // A worker that is gone leaves no series behind.
            for old in workerGauges[queue.name] ?? [] where !current.contains(where: { $0 === old }) {
                registry.unregisterGauge(old)
            }
            workerGauges[queue.name] = current
        }
        if let totals = queue.totals { count(totals, queue: queue.name) }
    }

    /// Moves the counters by what `totals` grew since the last update (all of it the first time,
    /// or after the broker's counters were reset).
    private func count(_ totals: OutcomeCounts, queue: String) {
        var previous = seen[queue] ?? OutcomeCounts()
        if OutcomeCounts.fields.contains(where: { totals[keyPath: $0.path] < previous[keyPath: $0.path] }) {
            previous = OutcomeCounts()
        }
        seen[queue] = totals
        for field in OutcomeCounts.fields {
            let grown = totals[keyPath: field.path] - previous[keyPath: field.path]
            let name: String, help: String, labels: [(String, String)]
            switch field.name {
            case "processed": continue  // the sum of the outcomes
            case "recovered":
                (name, help, labels) = ("tasks_recovered_total", "Tasks given back to the queue after their worker died.", [("queue", queue)])
            case "dead_lettered":
                (name, help, labels) = ("tasks_dead_lettered_total", "Tasks set aside in the dead-letter list.", [("queue", queue)])
            case "broker_reconnects":
                (name, help, labels) = ("broker_reconnects_total", "Connections to the broker that the queue's workers made again after losing one.",
                                        [("queue", queue)])
            default:
                (name, help, labels) = ("task_runs_total", "Task runs by outcome (runs, not distinct tasks: a recovered task's rerun counts).",
                                        [("queue", queue), ("outcome", field.name)])
            }
            let counter = registry.makeCounter(
                descriptor: MetricNameDescriptor(namespace: "sergeant", metricName: name, unitName: "", helpText: help), labels: labels)
            if grown > 0 { counter.increment(by: Int64(grown)) }
        }
        // The histogram is fed per bucket with the bucket's bound as the value: the bucket
        // counts are exact, the _sum is approximate (the broker's own sum is in --json).
        let bounds = OutcomeCounts.durationBounds
        let histogram = registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(namespace: "sergeant", metricName: "task_duration", unitName: "seconds",
                                             helpText: "Run time of tasks, from the start of pre_work to the end of the handlers."),
            labels: [("queue", queue)], buckets: bounds.map { Duration.milliseconds(Int64($0 * 1000)) })
        for index in totals.durationBuckets.indices {
            let before = index < previous.durationBuckets.count ? previous.durationBuckets[index] : 0
            let value = index < bounds.count ? bounds[index] : bounds[bounds.count - 1] * 2
            for _ in 0..<max(0, totals.durationBuckets[index] - before) {
                histogram.record(Duration.milliseconds(Int64(value * 1000)))
            }
        }
    }
}
