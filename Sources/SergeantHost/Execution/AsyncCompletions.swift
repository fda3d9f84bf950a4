#if canImport(Glibc)
import Glibc
#endif
import SergeantCore
import SergeantPluginLoader

// MARK: - AsyncCompletions

/// Where the plugin's `complete` calls land: any thread pushes a finished task's result, the
/// async executor's thread takes them all at once or waits for the next (with a deadline,
/// so that timeouts, signals and the queue are still looked at).
final class AsyncCompletions: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let arrived = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var finished: [(id: Int, result: PluginWorker.Result)] = []

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        // Deadlines are monotonic: a wall-clock step must not stretch or cut a wait.
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(arrived, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(arrived)
        pthread_mutex_destroy(mutex)
        arrived.deallocate()
        mutex.deallocate()
    }

    /// Records the result of task `id` (any thread; never blocks for long).
    func push(_ id: Int, _ result: PluginWorker.Result) {
        pthread_mutex_lock(mutex)
        finished.append((id, result))
        pthread_cond_signal(arrived)
        pthread_mutex_unlock(mutex)
    }

    /// Every result pushed so far; when there is none, waits for one until `deadline`
    /// (``MonotonicClock`` seconds) and returns what came, possibly nothing.
    func take(waitingUntil deadline: Double) -> [(id: Int, result: PluginWorker.Result)] {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        if finished.isEmpty && deadline > MonotonicClock.now {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let wait = deadline - MonotonicClock.now
            var until = timespec(tv_sec: now.tv_sec + Int(wait), tv_nsec: now.tv_nsec + Int((wait - Double(Int(wait))) * 1e9))
            if until.tv_nsec >= 1_000_000_000 { until.tv_sec += 1; until.tv_nsec -= 1_000_000_000 }
            while finished.isEmpty {
                if pthread_cond_timedwait(arrived, mutex, &until) == ETIMEDOUT { break }
            }
        }
        let taken = finished
        finished = []
        return taken
    }
}
