#if canImport(Glibc)
import Glibc
#endif
import SergeantBroker
import SergeantCore

// MARK: - BrokerThread

/// The one thread that talks to the broker for a ``SergeantClient``, so that no Redis round
/// trip ever blocks Swift's cooperative pool.
///
/// Callers (async or not) enqueue operations and are completed from this thread. It takes
/// everything queued at once: the pushes waiting for the same queue, priority and
/// `consumable_from` become one ``Broker/push(stored:queue:priority:consumableFrom:)`` call,
/// one RPUSH, LPUSH or ZADD (auto-pipelining: pushes issued while a round trip is in flight
/// share the next one). Each push completes after the round trip that stored it, with that
/// round trip's error if it failed. Any other operation (count, purge) is a barrier: the
/// pushes queued before it are sent before it runs, those queued after it after.
final class BrokerThread: @unchecked Sendable {
    /// Where pushes are stored together.
    struct BatchKey: Hashable {
        var queue: String
        var priority: TaskPriority
        var consumableFrom: Double?
    }

    /// Tasks of one push call (one or many), as stored, and its completion.
    struct PendingPush {
        var key: BatchKey
        var items: [[UInt8]]
        var complete: @Sendable (Result<Void, SergeantClientError>) -> Void
    }

    enum Operation {
        case push(PendingPush)
        /// Runs on the thread with the broker; `fail` instead when the client is closed.
        case job(run: @Sendable (Broker) -> Void, fail: @Sendable (SergeantClientError) -> Void)
    }

    let broker: Broker
    /// Most items sent in one round trip (more wait for the next one).
    let maxBatchSize: Int
    private let monitor = Monitor()
    private var queued: [Operation] = []
    private var idle = false
    /// The last turn took more than one operation: callers push concurrently.
    private var lastDrainShared = false
    private var stopping = false
    /// Round trips made by pushes, and tasks they stored (for tests and metrics).
    private(set) var pushRoundTrips = 0

    init(broker: Broker, maxBatchSize: Int) {
        self.broker = broker
        self.maxBatchSize = max(1, maxBatchSize)
    }

    /// Starts the thread; it holds this object until ``stop()`` and the queue is drained.
    func start() throws(SergeantClientError) {
        var thread = pthread_t()
        let context = Unmanaged.passRetained(self).toOpaque()
        let result = pthread_create(&thread, nil, { context in
            let owner = Unmanaged<BrokerThread>.fromOpaque(context!).takeRetainedValue()
            owner.run()
            return nil
        }, context)
        guard result == 0 else {
            Unmanaged<BrokerThread>.fromOpaque(context).release()
            throw .closed("the client could not start its broker thread (pthread_create: \(result))")
        }
        pthread_detach(thread)
    }

    /// Ends the thread once what is queued is done; later operations fail with `.closed`.
    func stop() {
        monitor.lock()
        stopping = true
        monitor.signal()
        monitor.unlock()
    }

    /// Queues an operation (completed at once with `.closed` after ``stop()``).
    func enqueue(_ operation: Operation) {
        monitor.lock()
        guard !stopping else {
            monitor.unlock()
            Self.fail(operation, with: .closed("the client was closed"))
            return
        }
        queued.append(operation)
        // Only a waiting thread needs the wake-up: a busy one takes the queue on its next turn.
        if idle { monitor.signal() }
        monitor.unlock()
    }

    /// Round trips made by pushes so far.
    var roundTrips: Int {
        monitor.lock()
        defer { monitor.unlock() }
        return pushRoundTrips
    }

    private static func fail(_ operation: Operation, with error: SergeantClientError) {
        switch operation {
        case .push(let push): push.complete(.failure(error))
        case .job(_, let fail): fail(error)
        }
    }

    private func run() {
        while true {
            monitor.lock()
            while queued.isEmpty && !stopping {
                idle = true
                monitor.wait()
                idle = false
            }
            if queued.isEmpty && stopping {
                monitor.unlock()
                return
            }
            if lastDrainShared { gather() }
            let operations = queued
            queued = []
            monitor.unlock()
            lastDrainShared = operations.count > 1
            drain(operations)
        }
    }

    /// Called with the lock held, when the previous turn took several operations (callers
    /// push concurrently): gives the CPU to them while they keep adding, so that a busy
    /// machine (producers, this thread and redis-server sharing few cores) still fills each
    /// round trip. It stops at the first yield during which nothing came, after
    /// ``gatherBudget`` seconds, or at ``maxBatchSize`` operations; a lone caller never waits.
    private func gather() {
        let deadline = MonotonicClock.now + Self.gatherBudget
        var seen = queued.count
        while seen < maxBatchSize && !stopping {
            monitor.unlock()
            sched_yield()
            monitor.lock()
            guard queued.count > seen, MonotonicClock.now < deadline else { return }
            seen = queued.count
        }
    }

    /// Longest ``gather()``: a bound on the latency it adds to a push.
    static let gatherBudget = 0.000_2

    /// Runs operations in order, pushes between two barriers batched per key.
    private func drain(_ operations: [Operation]) {
        var order: [BatchKey] = []
        var batches: [BatchKey: [PendingPush]] = [:]
        for operation in operations {
            switch operation {
            case .push(let push):
                if batches[push.key] == nil { order.append(push.key) }
                batches[push.key, default: []].append(push)
            case .job(let run, _):
                flush(order, batches)
                order = []
                batches = [:]
                run(broker)
            }
        }
        flush(order, batches)
    }

    private func flush(_ order: [BatchKey], _ batches: [BatchKey: [PendingPush]]) {
        for key in order {
            var group: [PendingPush] = []
            var items: [[UInt8]] = []
            for push in batches[key] ?? [] {
                if !group.isEmpty && items.count + push.items.count > maxBatchSize {
                    send(group, items, key)
                    group = []
                    items = []
                }
                group.append(push)
                items += push.items
            }
            if !group.isEmpty { send(group, items, key) }
        }
    }

    /// One round trip for `items`; completes every push of `group` with its outcome.
    private func send(_ group: [PendingPush], _ items: [[UInt8]], _ key: BatchKey) {
        let result: Result<Void, SergeantClientError>
        do throws(BrokerError) {
            try broker.push(stored: items, queue: key.queue, priority: key.priority, consumableFrom: key.consumableFrom)
            result = .success(())
        } catch {
            result = .failure(.broker(error))
        }
        monitor.lock()
        pushRoundTrips += 1
        monitor.unlock()
        for push in group { push.complete(result) }
    }
}

// MARK: - One-shot wait

/// A result one thread waits for and another hands over (the blocking API).
final class Rendezvous<T: Sendable>: @unchecked Sendable {
    private let monitor = Monitor()
    private var value: T?


    func put(_ result: T) {
        monitor.lock()
        value = result
        monitor.signal()
        monitor.unlock()
    }

    func take() -> T {
        monitor.lock()
        while value == nil { monitor.wait() }
        let result = value!
        monitor.unlock()
        return result
    }
}

// MARK: - Monitor

/// A pthread mutex with its condition variable, for the broker thread and the callers that
/// wait on it.
final class Monitor: @unchecked Sendable {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }
    /// Waits for ``signal()``; the caller holds the lock.
    func wait() { pthread_cond_wait(condition, mutex) }
    func signal() { pthread_cond_signal(condition) }
}
