#if canImport(Glibc)
import Glibc
#endif
import SergeantCore

// MARK: - BlockingCalls

/// The bridges between Swift concurrency and the blocking C calls on either side of it.
///
/// - ``offload(_:)``: an async broker call (`pushTask` inside `work(task:) async`) runs its
///   blocking host call on one of a few dedicated threads and suspends until it returns, so
///   no thread of Swift's cooperative pool (one per core) waits for a Redis round trip.
/// - ``wait(for:)``: a host thread (never a pool thread) that calls a synchronous entry of
///   the worker table runs an async method on the pool and waits for it.
enum BlockingCalls {
    /// Threads serving ``offload(_:)``, started as calls need them and kept afterwards.
    static let threadLimit = 16

    /// Runs `body` on a dedicated thread and resumes with what it returns or throws.
    static func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            pool.submit {
                do { continuation.resume(returning: try body()) } catch { continuation.resume(throwing: error) }
            }
        }
    }

    /// Runs `body` as a Swift task and blocks the calling thread until it ends. Call it only
    /// from a thread outside the cooperative pool (the host's threads are).
    static func wait<T: Sendable>(for body: @escaping @Sendable () async throws -> T) throws -> T {
        let slot = ResultSlot<T>()
        Task {
            do { slot.fill(.success(try await body())) } catch { slot.fill(.failure(error)) }
        }
        return try slot.take().get()
    }

    private static let pool = OffloadPool()
}

// MARK: - OffloadPool

/// A queue of blocking jobs and the threads that run them: a job waits only while every
/// thread is busy and ``BlockingCalls/threadLimit`` threads exist.
private final class OffloadPool: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let ready = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var jobs: [@Sendable () -> Void] = []
    private var threads = 0
    private var idle = 0

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(ready, nil)
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        jobs.append(job)
        let startThread = idle == 0 && threads < BlockingCalls.threadLimit
        if startThread { threads += 1 } else { pthread_cond_signal(ready) }
        pthread_mutex_unlock(mutex)
        if startThread {
            var thread = pthread_t()
            let this = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, nil, { argument in
                Unmanaged<OffloadPool>.fromOpaque(argument!).takeRetainedValue().serve()
                return nil
            }, this)
            pthread_detach(thread)
        }
    }

    private func serve() {
        while true {
            pthread_mutex_lock(mutex)
            while jobs.isEmpty {
                idle += 1
                pthread_cond_wait(ready, mutex)
                idle -= 1
            }
            let job = jobs.removeFirst()
            pthread_mutex_unlock(mutex)
            job()
        }
    }
}

// MARK: - ResultSlot

/// One result handed from a Swift task to the thread waiting for it.
private final class ResultSlot<T: Sendable>: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let filled = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var result: Result<T, any Error>?

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(filled, nil)
    }

    deinit {
        pthread_cond_destroy(filled)
        pthread_mutex_destroy(mutex)
        filled.deallocate()
        mutex.deallocate()
    }

    func fill(_ value: Result<T, any Error>) {
        pthread_mutex_lock(mutex)
        result = value
        pthread_cond_signal(filled)
        pthread_mutex_unlock(mutex)
    }

    func take() -> Result<T, any Error> {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        while result == nil { pthread_cond_wait(filled, mutex) }
        return result!
    }
}

// MARK: - Shared

/// A worker instance handed to Swift tasks and offload threads. `Worker` is not `Sendable`
/// (a subclass would have to restate it), but the host already calls one instance from many
/// threads at once, and the SDK's own state in it is behind locks.
struct Shared<Value>: @unchecked Sendable {
    let value: Value
}
