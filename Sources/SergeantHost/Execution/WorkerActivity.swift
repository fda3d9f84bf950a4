#if canImport(Glibc)
import Glibc
#endif
import SergeantBroker
import SergeantCore

// MARK: - WorkerActivity

/// What a worker process is doing, shared by the threads that run tasks (which update it per
/// task: a lock and two stores, no I/O) and the heartbeat thread (which reads it into the
/// ``WorkerRecord`` it publishes with each heartbeat).
final class WorkerActivity: @unchecked Sendable {
    private let lock = Mutex()
    private var done = 0
    /// Per running task (several with the threaded executor): its bytes and when it started.
    private var running: [(slot: Int, task: [UInt8], since: Double)] = []
    private var nextSlot = 0
    /// Durations of the runs that ended since the last ``takeDurations(into:)``.
    private var durations = OutcomeCounts()

    /// A task run starts; returns the slot to pass to ``finished(_:)``.
    func started(_ task: [UInt8]) -> Int {
        let now = unixTime()
        return lock.withLock {
            nextSlot &+= 1
            running.append((nextSlot, task, now))
            return nextSlot
        }
    }

    /// The run in `slot` ended.
    func finished(_ slot: Int) {
        let now = unixTime()
        lock.withLock {
            done += 1
            if let index = running.firstIndex(where: { $0.slot == slot }) {
                durations.add(duration: now - running[index].since)
                running.remove(at: index)
            }
        }
    }

    /// Moves the durations counted since the last call into `counts`.
    func takeDurations(into counts: inout OutcomeCounts) {
        lock.lock()
        let taken = durations
        durations = OutcomeCounts()
        lock.unlock()
        counts.durationBuckets = taken.durationBuckets
        counts.durationSeconds = taken.durationSeconds
    }

    /// Runs finished so far, and the oldest run in progress.
    func current() -> (tasksDone: Int, running: WorkerRecord.RunningTask?) {
        lock.lock()
        let tasksDone = done
        let oldest = running.first
        lock.unlock()
        guard let oldest else { return (tasksDone, nil) }
        let traceID = (try? SergeantTask(messagePack: oldest.task))?.traceID
        return (tasksDone, WorkerRecord.RunningTask(traceID: traceID, since: oldest.since))
    }
}
