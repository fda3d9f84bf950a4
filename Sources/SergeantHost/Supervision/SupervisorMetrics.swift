#if canImport(Glibc)
import Glibc
#endif
import CoreMetrics
import SergeantCore

// MARK: - SupervisorMetrics

/// What a supervisor measures of its own worker processes, in swift-metrics' vocabulary (the
/// factory decides where it goes: `sergeant-host --metrics-port` hands it swift-prometheus's):
/// `sergeant_worker_restarts_total`, `sergeant_supervised_workers` and
/// `sergeant_supervised_worker_resident_bytes{pid}` (sampled once a second from /proc).
struct SupervisorMetrics {
    private let factory: any MetricsFactory
    private let restarts: Counter
    private let workers: Gauge
    private var memory: [pid_t: Gauge] = [:]
    private var nextSample = 0.0

    init(factory: any MetricsFactory) {
        self.factory = factory
        restarts = Counter(label: "sergeant_worker_restarts_total", dimensions: [], factory: factory)
        workers = Gauge(label: "sergeant_supervised_workers", dimensions: [], factory: factory)
    }

    /// A worker ended and another takes its place.
    func restarted() {
        restarts.increment()
    }

    /// Samples the workers' memory, at most once a second.
    mutating func sample(_ pids: some Collection<pid_t>) {
        let now = MonotonicClock.now
        guard now >= nextSample else { return }
        nextSample = now + 1
        workers.record(pids.count)
        for pid in pids {
            guard let bytes = residentBytes(of: pid) else { continue }
            if memory[pid] == nil {
                memory[pid] = Gauge(label: "sergeant_supervised_worker_resident_bytes", dimensions: [("pid", String(pid))], factory: factory)
            }
            memory[pid]?.record(bytes)
        }
        for pid in memory.keys where !pids.contains(pid) {
            memory.removeValue(forKey: pid)?.destroy()
        }
    }
}
