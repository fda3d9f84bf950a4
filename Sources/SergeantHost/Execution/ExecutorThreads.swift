#if canImport(Glibc)
import Glibc
#endif

// MARK: - ExecutorThreads

/// The threads of the threaded executor (sergeant's `ThreadPoolExecutor`), started once and
/// reused for every batch: ``run(_:)`` hands a batch to all of them and returns when each has
/// drained it. Starting threads per batch cost more than the work of small tasks.
final class ExecutorThreads: @unchecked Sendable {
    /// How many threads serve batches.
    let count: Int
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    /// Signalled when a new batch is handed out.
    private let batchReady = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Signalled when the last thread finished the batch.
    private let batchDone = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var batch: ConcurrentBatch?
    /// Counts batches, so that each thread takes every batch exactly once.
    private var generation = 0
    private var stillDraining = 0

    /// Starts `count` threads; they live as long as the worker process.
    init(count: Int) {
        self.count = count
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(batchReady, nil)
        pthread_cond_init(batchDone, nil)
        for _ in 0..<count {
            WorkerThread.detach { [self] in serve() }
        }
    }

    /// Runs the batch on every thread and waits until it is drained.
    func run(_ batch: ConcurrentBatch) {
        pthread_mutex_lock(mutex)
        self.batch = batch
        generation += 1
        stillDraining = count
        pthread_cond_broadcast(batchReady)
        while stillDraining > 0 { pthread_cond_wait(batchDone, mutex) }
        self.batch = nil
        pthread_mutex_unlock(mutex)
    }

    private func serve() {
        var served = 0
        while true {
            pthread_mutex_lock(mutex)
            while generation == served { pthread_cond_wait(batchReady, mutex) }
            served = generation
            let batch = self.batch
            pthread_mutex_unlock(mutex)
            batch?.drain()
            pthread_mutex_lock(mutex)
            stillDraining -= 1
            if stillDraining == 0 { pthread_cond_signal(batchDone) }
            pthread_mutex_unlock(mutex)
        }
    }
}
