#if canImport(Glibc)
import Glibc
#endif
import SergeantABI
import SergeantBroker
import SergeantCore

// MARK: - WorkerActivity

/// What a worker process is doing, shared by the threads that run tasks (which update it per
/// task: a lock, a few stores and a clock read, no I/O and no allocation) and the heartbeat
/// thread (which reads it into the ``WorkerRecord`` it publishes with each heartbeat).
///
/// With the threaded executor several tasks run at once; the record shows the one that
/// started last.
final class WorkerActivity: @unchecked Sendable {
    private let lock = Mutex()
    private var done = 0
    private var running = 0
    private var latest: [UInt8] = []
    private var latestSince = 0.0
    /// Runs per duration bucket since the last ``takeDurations(into:)``, and their seconds.
    private let buckets: UnsafeMutablePointer<Int>
    private var seconds = 0.0
    private let bounds = OutcomeCounts.durationBounds

    init() {
        buckets = .allocate(capacity: bounds.count + 1)
        buckets.initialize(repeating: 0, count: bounds.count + 1)
    }

    deinit {
        buckets.deallocate()
    }

    /// A task run starts; returns its start, to pass to ``finished(since:)``.
    @inline(__always)
    func started(_ task: [UInt8]) -> Double {
        let now = unixTime()
        lock.lock()
        running += 1
        latest = task
        latestSince = now
        lock.unlock()
        return now
    }

    /// The run that started at `since` ended.
    @inline(__always)
    func finished(since: Double) {
        let took = unixTime() - since
        var index = 0
        while index < bounds.count && took > bounds[index] { index += 1 }
        lock.lock()
        done += 1
        running -= 1
        buckets[index] += 1
        seconds += took
        lock.unlock()
    }

    /// Moves the durations counted since the last call into `counts`.
    func takeDurations(into counts: inout OutcomeCounts) {
        lock.lock()
        let taken = Array(UnsafeBufferPointer(start: buckets, count: bounds.count + 1))
        buckets.update(repeating: 0, count: bounds.count + 1)
        let took = seconds
        seconds = 0
        lock.unlock()
        guard taken.contains(where: { $0 != 0 }) else { return }
        counts.durationBuckets = taken
        counts.durationSeconds = took
    }

    /// Runs finished so far, and the task started last if one is running.
    func current() -> (tasksDone: Int, running: WorkerRecord.RunningTask?) {
        lock.lock()
        let tasksDone = done
        let task = running > 0 ? latest : nil
        let since = latestSince
        lock.unlock()
        guard let task else { return (tasksDone, nil) }
        let traceID = (try? SergeantTask(messagePack: task))?.traceID
        return (tasksDone, WorkerRecord.RunningTask(traceID: traceID, since: since))
    }
}

extension OutcomeCounts {
    /// Counts one run that ended with `outcome` (a switch on the enum: no string compared).
    @inline(__always)
    mutating func add(_ outcome: TaskOutcome) {
        processed += 1
        switch outcome {
        case .success: succeeded += 1
        case .failure: failed += 1
        case .retry: retried += 1
        case .maxRetries: maxRetries += 1
        case .timeout: timedOut += 1
        case .requeue: requeued += 1
        case .stop, .respawn: stopped += 1
        }
    }
}
