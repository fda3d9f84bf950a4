#if canImport(Glibc)
import Glibc
#endif
import SergeantABI
import SergeantBroker
import SergeantCore
import Synchronization

// MARK: - WorkerActivity

/// What a worker process is doing, shared by the threads that run tasks (which update it per
/// task: a lock, a few stores and a clock read, no I/O and no allocation) and the heartbeat
/// thread (which reads it into the ``WorkerRecord`` it publishes with each heartbeat).
///
/// With the threaded executor several tasks run at once; the record shows the one that
/// started last.
final class WorkerActivity: Sendable {
    /// What the threads share, behind the standard library's mutex (a futex with an atomic
    /// fast path: a fraction of a pthread mutex's cost per task).
    private struct State {
        var done = 0
        var running = 0
        var latest: [UInt8] = []
        var latestSince = 0.0
        /// Runs per duration bucket since the last ``takeDurations(into:)``, and their seconds.
        var buckets = Array(repeating: 0, count: OutcomeCounts.durationBounds.count + 1)
        var seconds = 0.0
    }

    private let state = Synchronization.Mutex(State())
    private let bounds = OutcomeCounts.durationBounds

    /// A task run starts; returns its start, to pass to ``finished(since:)``.
    @inline(__always)
    func started(_ task: [UInt8]) -> Double {
        let now = unixTime()
        state.withLock { state in
            state.running += 1
            state.latest = task
            state.latestSince = now
        }
        return now
    }

    /// The run that started at `since` ended.
    @inline(__always)
    func finished(since: Double) {
        let took = unixTime() - since
        var index = 0
        while index < bounds.count && took > bounds[index] { index += 1 }
        state.withLock { state in
            state.done += 1
            state.running -= 1
            state.buckets[index] += 1
            state.seconds += took
        }
    }

    /// Moves the durations counted since the last call into `counts`.
    func takeDurations(into counts: inout OutcomeCounts) {
        let (taken, took) = state.withLock { state in
            defer {
                for index in state.buckets.indices { state.buckets[index] = 0 }
                state.seconds = 0
            }
            return (state.buckets, state.seconds)
        }
        guard taken.contains(where: { $0 != 0 }) else { return }
        counts.durationBuckets = taken
        counts.durationSeconds = took
    }

    /// Runs finished so far, and the task started last if one is running.
    func current() -> (tasksDone: Int, running: WorkerRecord.RunningTask?) {
        let (tasksDone, task, since) = state.withLock { state in
            (state.done, state.running > 0 ? state.latest : nil, state.latestSince)
        }
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
