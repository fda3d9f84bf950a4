#if canImport(Glibc)
import Glibc
#endif
import Logging
import SergeantABI
import SergeantBroker
import SergeantCore

// MARK: - HostContext

/// The host's side of the plugin ABI: the state behind `sergeant_host_api` and the C
/// functions of that table. Every broker call a worker makes lands here and runs on the
/// host's ``Broker``.
public final class HostContext: @unchecked Sendable {
    /// The worker's configuration (its queue name, max_retries).
    public let config: WorkerConfig
    /// The broker; nil for a host that only reads a plugin's configuration.
    public let broker: Broker?
    /// The logger plugin lines are written to.
    public let logger: Logger
    /// Deadlines of running tasks, by thread, for `is_timed_out`.
    let deadlines = DeadlineBoard()
    /// SIGTERM/SIGINT of the worker process, for `should_stop`.
    let stop: StopSignal
    private let table: UnsafeMutablePointer<sergeant_host_api>

    /// Creates a host context and its C table.
    public init(config: WorkerConfig, broker: Broker?, logger: Logger, stop: StopSignal = StopSignal()) {
        self.config = config
        self.broker = broker
        self.logger = logger
        self.stop = stop
        table = .allocate(capacity: 1)
        table.initialize(to: Self.makeTable())
        table.pointee.host = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        table.deallocate()
    }

    /// The table to hand to `sergeant_worker_create`; valid while this context lives.
    public var api: UnsafePointer<sergeant_host_api> { UnsafePointer(table) }

    // MARK: Operations behind the table

    func requireBroker() throws(BrokerError) -> Broker {
        guard let broker else { throw BrokerError("this host has no broker") }
        return broker
    }

    func queue(_ name: UnsafePointer<CChar>?) -> String {
        name.map { String(cString: $0) } ?? config.name
    }

    /// Worker.retry: run_count + 1 and push, unless max_retries is reached.
    func retry(_ bytes: [UInt8], priority: TaskPriority, consumableFrom: Double?) throws -> TaskOutcome {
        var task = try SergeantTask(messagePack: bytes)
        if config.maxRetries > 0 && config.maxRetries <= task.runCount { return .maxRetries }
        task.runCount += 1
        try requireBroker().push(tasks: [task], queue: config.name, priority: priority, consumableFrom: consumableFrom)
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

    static func makeTable() -> sergeant_host_api {
        var table = sergeant_host_api()
        table.size = ABITable.compiledSize(sergeant_host_api.self)
        table.abi_version = ABIVersion.current
        table.log = { host, level, message, length in
            guard host != nil, let message else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            HostContext.context(host).logger.log(level: LogLevel(number: Int(level)).loggerLevel, "\(text)")
        }
        table.log_with_metadata = { host, level, message, length, keys, values, count in
            guard host != nil, let message else { return }
            let text = String(decoding: UnsafeRawBufferPointer(start: message, count: length), as: UTF8.self)
            var metadata: Logger.Metadata = [:]
            if let keys, let values {
                for index in 0..<count {
                    guard let key = keys[index] else { continue }
                    metadata[String(cString: key)] = .string(values[index].map { String(cString: $0) } ?? "")
                }
            }
            HostContext.context(host).logger.log(level: LogLevel(number: Int(level)).loggerLevel, "\(text)", metadata: metadata)
        }
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
                try context.requireBroker().push(encodedTasks: tasks, queue: context.queue(name),
                                                 priority: HostContext.priority(priority),
                                                 consumableFrom: HostContext.delay(consumableFrom))
                return .success
            }
        }
        table.get_next_tasks = { host, name, count, tasks, error in
            HostContext.perform(host, error) { context in
                let popped = try context.requireBroker().pop(queue: context.queue(name), count: count)
                for reason in popped.rejected {
                    context.logger.error("a task could not be decoded and was set aside in \(KeySpace(queue: context.queue(name)).dead): \(reason)")
                }
                for task in popped.tasks { write(task.messagePack, to: tasks) }
                return .success
            }
        }
        table.purge_tasks = { host, name, error in
            HostContext.perform(host, error) { context in
                try context.requireBroker().purge(queue: context.queue(name))
                return .success
            }
        }
        table.number_of_enqueued_tasks = { host, name, includeDelayed, count, error in
            HostContext.perform(host, error) { context in
                count?.pointee = Int64(try context.requireBroker().count(queue: context.queue(name), includeDelayed: includeDelayed != 0))
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
                try context.requireBroker().push(encodedTasks: [HostContext.bytes(task, length)], queue: context.config.name,
                                                 priority: HostContext.priority(priority),
                                                 consumableFrom: HostContext.delay(consumableFrom))
                return .requeue
            }
        }
        table.lock_acquire = { host, name, timeout, checkInterval, ttl, acquired, error in
            HostContext.perform(host, error) { context in
                let taken = try context.requireBroker().acquireLock(String(cString: name!), timeout: timeout,
                                                                     checkInterval: checkInterval, ttl: Int(ttl))
                acquired?.pointee = taken ? 1 : 0
                return .success
            }
        }
        table.lock_release = { host, name, released, error in
            HostContext.perform(host, error) { context in
                released?.pointee = try context.requireBroker().releaseLock(String(cString: name!)) ? 1 : 0
                return .success
            }
        }
        table.lock_is_locked = { host, name, locked, error in
            HostContext.perform(host, error) { context in
                locked?.pointee = try context.requireBroker().isLocked(String(cString: name!)) ? 1 : 0
                return .success
            }
        }
        table.lock_set_ttl = { host, name, ttl, wasSet, error in
            HostContext.perform(host, error) { context in
                wasSet?.pointee = try context.requireBroker().setLockTTL(String(cString: name!), ttl: Int(ttl)) ? 1 : 0
                return .success
            }
        }
        table.lock_get_ttl = { host, name, ttl, error in
            HostContext.perform(host, error) { context in
                ttl?.pointee = Int64(try context.requireBroker().lockTTL(String(cString: name!)) ?? -1)
                return .success
            }
        }
        table.key_set = { host, name, value, length, wasNew, error in
            HostContext.perform(host, error) { context in
                wasNew?.pointee = try context.requireBroker().setKey(String(cString: name!), messagePack: HostContext.bytes(value, length)) ? 1 : 0
                return .success
            }
        }
        table.key_get = { host, name, value, found, error in
            HostContext.perform(host, error) { context in
                guard let bytes = try context.requireBroker().getKey(String(cString: name!)) else {
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
                deleted?.pointee = try context.requireBroker().deleteKey(String(cString: name!)) ? 1 : 0
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
        return table
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

    /// Tasks past their hard deadline.
    func overdue(at now: Double) -> [Entry] {
        lock.withLock { entries.values.filter { now > $0.hard } }
    }
}
