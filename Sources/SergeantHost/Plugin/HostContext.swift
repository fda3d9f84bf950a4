#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore
import SergeantPluginLoader

// MARK: - HostContext

/// The worker process's side of the plugin ABI: the state behind `sergeant_host_api` and the
/// C functions of that table. Every broker call a worker makes lands here and runs on the
/// host's ``Broker``, which exists from the start: the configuration was read before, by a
/// ``ConfigurationHost``.
public final class HostContext: PluginHost, @unchecked Sendable {
    /// The worker's configuration (its queue name, max_retries).
    public let config: WorkerConfig
    /// The broker the configuration names.
    public let broker: Broker
    /// Deadlines of running tasks, by thread, for `is_timed_out`.
    let deadlines = DeadlineBoard()
    /// SIGTERM/SIGINT of the worker process, for `should_stop`.
    let stop: StopSignal

    /// Creates a host context and its C table.
    public init(config: WorkerConfig, broker: Broker, logger: Logger, stop: StopSignal = StopSignal()) {
        self.config = config
        self.broker = broker
        self.stop = stop
        super.init(logger: logger)
        Self.fill(table)
    }

    // MARK: Operations behind the table

    func queue(_ name: UnsafePointer<CChar>?) -> String {
        name.map { String(cString: $0) } ?? config.name
    }

    /// Worker.retry: run_count + 1 and push, unless max_retries is reached.
    func retry(_ bytes: [UInt8], priority: TaskPriority, consumableFrom: Double?) throws -> TaskOutcome {
        var task = try SergeantTask(messagePack: bytes)
        if config.maxRetries > 0 && config.maxRetries <= task.runCount { return .maxRetries }
        task.runCount += 1
        try broker.push(tasks: [task], queue: config.name, priority: priority, consumableFrom: consumableFrom)
        return .retry
    }

    // MARK: The C table

    static func context(_ host: UnsafeMutableRawPointer?) -> HostContext {
        Unmanaged<HostContext>.fromOpaque(host!).takeUnretainedValue()
    }

    /// Runs a host operation for the plugin, turning a thrown error into a message.
    static func perform(_ host: UnsafeMutableRawPointer?, _ error: UnsafePointer<sergeant_output>?,
                        _ body: (HostContext) throws -> TaskOutcome) -> sergeant_status {
        guard host != nil else { return SERGEANT_INVALID }
        do {
            return try body(context(host)).status
        } catch let failure {
            write(String(describing: failure), to: error)
            return SERGEANT_FAILURE
        }
    }

    static func priority(_ value: sergeant_priority) -> TaskPriority {
        value == SERGEANT_PRIORITY_HIGH ? .high : .normal
    }

    static func delay(_ consumableFrom: Double) -> Double? {
        consumableFrom < 0 ? nil : consumableFrom
    }

    static func bytes(_ pointer: UnsafePointer<UInt8>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: length))
    }

    /// Fills the broker, timeout and stop functions (the log functions are ``PluginHost``'s).
    static func fill(_ api: UnsafeMutablePointer<sergeant_host_api>) {
        var table = api.pointee
        table.push_tasks = { host, name, kwargs, lengths, count, priority, consumableFrom, traceID, error in
            HostContext.perform(host, error) { context in
                let trace = traceID.map { String(cString: $0) }
                var tasks: [[UInt8]] = []
                tasks.reserveCapacity(count)
                let now = unixTime()
                for index in 0..<count {
                    let encoded = HostContext.bytes(kwargs?[index], lengths?[index] ?? 0)
                    guard let first = encoded.first, (0x80...0x8f).contains(first) || first == 0xde || first == 0xdf else {
                        throw BrokerError("kwargs \(index) is not a msgpack map")
                    }
                    tasks.append(SergeantTask.messagePack(encodedKwargs: encoded, traceID: trace, date: now, runCount: 0))
                }
                try context.broker.push(encodedTasks: tasks, queue: context.queue(name),
                                                 priority: HostContext.priority(priority),
                                                 consumableFrom: HostContext.delay(consumableFrom))
                return .success
            }
        }
        table.get_next_tasks = { host, name, count, tasks, error in
            HostContext.perform(host, error) { context in
                let popped = try context.broker.pop(queue: context.queue(name), count: count)
                for reason in popped.rejected {
                    context.logger.error("a task could not be decoded and was set aside in \(KeySpace(queue: context.queue(name)).dead): \(reason)")
                }
                for task in popped.tasks { write(task.messagePack, to: tasks) }
                return .success
            }
        }
        table.purge_tasks = { host, name, error in
            HostContext.perform(host, error) { context in
                try context.broker.purge(queue: context.queue(name))
                return .success
            }
        }
        table.number_of_enqueued_tasks = { host, name, includeDelayed, count, error in
            HostContext.perform(host, error) { context in
                count?.pointee = Int64(try context.broker.count(queue: context.queue(name), includeDelayed: includeDelayed != 0))
                return .success
            }
        }
        table.retry = { host, task, length, priority, consumableFrom, error in
            HostContext.perform(host, error) { context in
                try context.retry(HostContext.bytes(task, length), priority: HostContext.priority(priority),
                                  consumableFrom: HostContext.delay(consumableFrom))
            }
        }
        table.requeue = { host, task, length, priority, consumableFrom, error in
            HostContext.perform(host, error) { context in
                try context.broker.push(encodedTasks: [HostContext.bytes(task, length)], queue: context.config.name,
                                                 priority: HostContext.priority(priority),
                                                 consumableFrom: HostContext.delay(consumableFrom))
                return .requeue
            }
        }
        table.lock_acquire = { host, name, timeout, checkInterval, ttl, acquired, error in
            HostContext.perform(host, error) { context in
                let taken = try context.broker.acquireLock(String(cString: name!), timeout: timeout,
                                                                     checkInterval: checkInterval, ttl: Int(ttl))
                acquired?.pointee = taken ? 1 : 0
                return .success
            }
        }
        table.lock_release = { host, name, released, error in
            HostContext.perform(host, error) { context in
                released?.pointee = try context.broker.releaseLock(String(cString: name!)) ? 1 : 0
                return .success
            }
        }
        table.lock_is_locked = { host, name, locked, error in
            HostContext.perform(host, error) { context in
                locked?.pointee = try context.broker.isLocked(String(cString: name!)) ? 1 : 0
                return .success
            }
        }
        table.lock_set_ttl = { host, name, ttl, wasSet, error in
            HostContext.perform(host, error) { context in
                wasSet?.pointee = try context.broker.setLockTTL(String(cString: name!), ttl: Int(ttl)) ? 1 : 0
                return .success
            }
        }
        table.lock_get_ttl = { host, name, ttl, error in
            HostContext.perform(host, error) { context in
                ttl?.pointee = Int64(try context.broker.lockTTL(String(cString: name!)) ?? -1)
                return .success
            }
        }
        table.key_set = { host, name, value, length, wasNew, error in
            HostContext.perform(host, error) { context in
                wasNew?.pointee = try context.broker.setKey(String(cString: name!), messagePack: HostContext.bytes(value, length)) ? 1 : 0
                return .success
            }
        }
        table.key_get = { host, name, value, found, error in
            HostContext.perform(host, error) { context in
                guard let bytes = try context.broker.getKey(String(cString: name!)) else {
                    found?.pointee = 0
                    return .success
                }
                write(bytes, to: value)
                found?.pointee = 1
                return .success
            }
        }
        table.key_delete = { host, name, deleted, error in
            HostContext.perform(host, error) { context in
                deleted?.pointee = try context.broker.deleteKey(String(cString: name!)) ? 1 : 0
                return .success
            }
        }
        table.is_timed_out = { host in
            guard host != nil else { return 0 }
            return HostContext.context(host).deadlines.currentThreadIsPastDeadline() ? 1 : 0
        }
        table.should_stop = { host in
            guard host != nil else { return 0 }
            return HostContext.context(host).stop.isRequested ? 1 : 0
        }
        api.pointee = table
    }
}

// MARK: - DeadlineBoard

/// The tasks running right now, by thread, with their deadlines: `is_timed_out` reads the
/// calling thread's entry, the timeout watchdog scans them all.
final class DeadlineBoard: @unchecked Sendable {
    /// One running task.
    struct Entry {
        /// Past this the task is timed out (cooperative).
        var soft: Double
        /// Past this the worker process is ended.
        var hard: Double
        /// The task's msgpack bytes.
        var task: [UInt8]
        /// The task's bytes as the broker stored them.
        var stored: [UInt8]
    }

    private let lock = Mutex()
    private var entries: [UInt: Entry] = [:]

    /// Records the task the calling thread starts, or clears it with nil.
    func set(_ entry: Entry?) {
        let thread = UInt(pthread_self())
        lock.withLock { entries[thread] = entry }
    }

    /// True when the calling thread's task has a deadline that has passed.
    func currentThreadIsPastDeadline() -> Bool {
        let thread = UInt(pthread_self())
        guard let entry = lock.withLock({ entries[thread] }) else { return false }
        return MonotonicClock.now > entry.soft
    }

    /// Records the async task `id` (not bound to a thread), or clears it with nil: the
    /// watchdog sees it as it sees a thread's task.
    func set(_ entry: Entry?, asyncTask id: Int) {
        let key = UInt(1) << (UInt.bitWidth - 1) | UInt(id)
        lock.withLock { entries[key] = entry }
    }

    /// Tasks past their hard deadline.
    func overdue(at now: Double) -> [Entry] {
        lock.withLock { entries.values.filter { now > $0.hard } }
    }
}
