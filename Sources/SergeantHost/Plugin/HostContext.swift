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
    private let table: UnsafeMutablePointer<sergeant_host_api>

    /// Creates a host context and its C table.
    public init(config: WorkerConfig, broker: Broker?, logger: Logger) {
        self.config = config
        self.broker = broker
        self.logger = logger
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
    func retry(_ bytes: [UInt8], priority: TaskPriority, consumableFrom: Double?) throws -> PluginStatus {
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
                        _ body: (HostContext) throws -> PluginStatus) -> sergeant_status {
        guard host != nil else { return SERGEANT_INVALID }
        do {
            return try body(context(host)).rawValue
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
        table.abi_version = PluginStatus.abiVersion
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
                return .ok
            }
        }
        table.get_next_tasks = { host, name, count, tasks, error in
            HostContext.perform(host, error) { context in
                let popped = try context.requireBroker().pop(queue: context.queue(name), count: count)
                for reason in popped.rejected {
                    context.logger.error("a task could not be decoded and was set aside in \(deadLetterKey(context.queue(name))): \(reason)")
                }
                for task in popped.tasks { write(task.messagePack, to: tasks) }
                return .ok
            }
        }
        table.purge_tasks = { host, name, error in
            HostContext.perform(host, error) { context in
                try context.requireBroker().purge(queue: context.queue(name))
                return .ok
            }
        }
        table.number_of_enqueued_tasks = { host, name, includeDelayed, count, error in
            HostContext.perform(host, error) { context in
                count?.pointee = Int64(try context.requireBroker().count(queue: context.queue(name), includeDelayed: includeDelayed != 0))
                return .ok
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
                let name = String(cString: name!)
                let broker = try context.requireBroker()
                let deadline = timeout < 0 ? Double.infinity : unixTime() + timeout
                while true {
                    if try broker.withConnector({ connector throws(BrokerError) in try connector.lockTryAcquire(name, ttl: Int(ttl)) }) {
                        acquired?.pointee = 1
                        return .ok
                    }
                    if unixTime() > deadline {
                        acquired?.pointee = 0
                        return .ok
                    }
                    pause(seconds: max(0.001, checkInterval))
                }
            }
        }
        table.lock_release = { host, name, released, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                released?.pointee = try context.requireBroker().withConnector { connector throws(BrokerError) in try connector.lockRelease(name) } ? 1 : 0
                return .ok
            }
        }
        table.lock_is_locked = { host, name, locked, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                locked?.pointee = try context.requireBroker().withConnector { connector throws(BrokerError) in try connector.lockIsLocked(name) } ? 1 : 0
                return .ok
            }
        }
        table.lock_set_ttl = { host, name, ttl, wasSet, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                wasSet?.pointee = try context.requireBroker().withConnector { connector throws(BrokerError) in try connector.lockSetTTL(name, ttl: Int(ttl)) } ? 1 : 0
                return .ok
            }
        }
        table.lock_get_ttl = { host, name, ttl, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                ttl?.pointee = Int64(try context.requireBroker().withConnector { connector throws(BrokerError) in try connector.lockGetTTL(name) } ?? -1)
                return .ok
            }
        }
        table.key_set = { host, name, value, length, wasNew, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                let broker = try context.requireBroker()
                let stored = try broker.encoder.encode(messagePack: HostContext.bytes(value, length))
                wasNew?.pointee = try broker.withConnector { connector throws(BrokerError) in try connector.keySet(name, value: stored) } ? 1 : 0
                return .ok
            }
        }
        table.key_get = { host, name, value, found, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                let broker = try context.requireBroker()
                guard let stored = try broker.withConnector({ connector throws(BrokerError) in try connector.keyGet(name) }) else {
                    found?.pointee = 0
                    return .ok
                }
                write(try broker.encoder.decodeToMessagePack(stored), to: value)
                found?.pointee = 1
                return .ok
            }
        }
        table.key_delete = { host, name, deleted, error in
            HostContext.perform(host, error) { context in
                let name = String(cString: name!)
                deleted?.pointee = try context.requireBroker().withConnector { connector throws(BrokerError) in try connector.keyDelete(name) } ? 1 : 0
                return .ok
            }
        }
        table.is_timed_out = { host in
            guard host != nil else { return 0 }
            return HostContext.context(host).deadlines.currentThreadIsPastDeadline() ? 1 : 0
        }
        table.should_stop = { _ in stopRequested() ? 1 : 0 }
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
        return unixTime() > entry.soft
    }

    /// Tasks past their hard deadline.
    func overdue(at now: Double) -> [Entry] {
        lock.withLock { entries.values.filter { now > $0.hard } }
    }
}
