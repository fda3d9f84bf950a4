import Logging
import SergeantABI
import SergeantCore

// MARK: - Worker

/// The class a worker plugin subclasses, as Python's `sergeant.worker.Worker`.
///
/// Override ``generateConfig()`` and ``work(task:)`` (async or not); override any handler you
/// need, in either form. The host creates one instance per worker process through the
/// plugin's exported factory (see ``exportWorkers(_:className:hostAPI:workerAPI:error:)``).
///
/// ```swift
/// import Sergeant
///
/// final class Worker: Sergeant.Worker {
///     override func generateConfig() -> WorkerConfig {
///         WorkerConfig(name: "test_worker", connector: .redis(nodes: [RedisNode()]),
///                      logging: LoggingConfig(level: .info, logToStdout: true), maxConcurrentTasks: 100)
///     }
///     override func work(task: SergeantTask) async throws {
///         try await Task.sleep(for: .milliseconds(20))   // any async library
///         try await pushTask(kwargs: ["done": true], taskName: "next")
///     }
/// }
/// ```
///
/// With `maxConcurrentTasks` N > 0 one process runs up to N tasks at once on Swift
/// concurrency; a task past its timeout has its Swift task cancelled (`Task.isCancelled`,
/// `CancellationError`). The instance is shared by every task and thread of the process, so
/// keep per-task state in the call.
open class Worker {
    /// The configuration ``generateConfig()`` returned.
    public private(set) lazy var config: WorkerConfig = generateConfig()

    /// A logger whose lines the host writes in sergeant's format, under the worker's name.
    /// Lines logged before the host is attached (in `init`) are kept and written when it is,
    /// or to standard error when it never is.
    public private(set) lazy var logger: Logger = Logger(label: config.name) { [link] label in
        HostLogHandler(link: link, label: label, level: LogLevel.debug.loggerLevel)
    }

    /// The host this worker runs in, once attached by the exported factory.
    let link = HostLink()

    /// The host's connection; nil until the host is attached.
    var host: HostAPIClient? { link.connection }

    /// The trace id of the task whose `work` runs on the current thread, inherited by pushed
    /// tasks (a thread's own state: cheaper per task than a task-local value).
    static var currentTraceID: String? { asyncTraceID ?? TaskThreadState.current.workingTraceID }

    /// The trace id of the task whose async `work` runs in the current Swift task.
    @TaskLocal static var asyncTraceID: String?

    /// The async tasks of this instance, by `work_async` handle.
    let asyncTasks = AsyncTaskRegistry()

    /// Per handler: whether its sync or its async form is the one overridden.
    let handlerForms = HandlerForms()

    /// Creates a worker. The host calls this through the exported factory.
    public required init() {}

    // MARK: Configuration and work

    /// The worker's configuration. Override it; the default names the queue after the class.
    open func generateConfig() -> WorkerConfig {
        WorkerConfig(name: String(describing: type(of: self)))
    }

    /// Runs one task. Throw to fail it; call ``retry(task:priority:consumableFrom:)`` and its
    /// siblings to change its course. Override this or the async form.
    open func work(task: SergeantTask) throws {
        // Not overridden: the async form is the worker's (see WorkerAPITable).
        TaskThreadState.current.syncDefaultReached = true
    }

    /// Runs one task and returns a value for ``onSuccess(task:returnedValue:)``. The default
    /// calls ``work(task:)`` and returns nil; override this instead when you return a value.
    open func workReturning(task: SergeantTask) throws -> Value {
        try work(task: task)
        return nil
    }

    /// Runs one task on Swift concurrency: await any async library here; broker calls have
    /// async forms (`try await pushTask(...)`) that keep the cooperative pool free. A task past
    /// its timeout is cancelled: `Task.sleep` throws `CancellationError`, `Task.isCancelled`
    /// turns true. Runs many at once with `maxConcurrentTasks` > 0 (one at a time otherwise).
    /// With `maxConcurrentTasks` > 0 this form is preferred when both are overridden; without,
    /// the synchronous one.
    open func work(task: SergeantTask) async throws {
        Self.asyncDefault?.reached = true
    }

    /// The async form of ``workReturning(task:)-(SergeantTask)``: the default runs the async
    /// ``work(task:)-(SergeantTask)`` and returns nil, or, when that is not overridden, the
    /// synchronous `workReturning`.
    open func workReturning(task: SergeantTask) async throws -> Value {
        let probe = DefaultProbe()
        try await Self.$asyncDefault.withValue(probe) { try await work(task: task) }
        return probe.reached ? try syncWorkReturning(task) : nil
    }

    /// Set by the default async `work`: the synchronous form is the worker's.
    final class DefaultProbe: @unchecked Sendable {
        var reached = false
    }

    /// The probe of the async `work` being called by the default async `workReturning`.
    @TaskLocal static var asyncDefault: DefaultProbe?

    /// The synchronous `workReturning`, from a context where no async overload is chosen.
    final func syncWorkReturning(_ task: SergeantTask) throws -> Value {
        try workReturning(task: task)
    }

    // MARK: Handlers

    // Each handler has a synchronous and an async form; override either (the defaults do
    // nothing, so an override need not call super). The async form runs on Swift concurrency
    // while the host's thread waits for it.

    /// Called once in each worker process before the first task.
    open func initialize() throws { defaultHandler() }
    /// Called once when the worker process ends its run.
    open func finalize() throws { defaultHandler() }
    /// Called before each task.
    open func preWork(task: SergeantTask) throws { defaultHandler() }
    /// Called after each task; `failure` is the error message when it did not succeed.
    open func postWork(task: SergeantTask, success: Bool, failure: String?) throws { defaultHandler() }
    /// The task succeeded with `returnedValue`.
    open func onSuccess(task: SergeantTask, returnedValue: Value) throws { defaultHandler() }
    /// The task failed with `failure` (the error's description).
    open func onFailure(task: SergeantTask, failure: String) throws { defaultHandler() }
    /// The task ran past its timeout.
    open func onTimeout(task: SergeantTask) throws { defaultHandler() }
    /// The task was retried.
    open func onRetry(task: SergeantTask) throws { defaultHandler() }
    /// The task reached max_retries.
    open func onMaxRetries(task: SergeantTask) throws { defaultHandler() }
    /// The task was requeued.
    open func onRequeue(task: SergeantTask) throws { defaultHandler() }
    /// No task arrived for `timeWithNoTasks` seconds.
    open func onStarvation(timeWithNoTasks: Double) throws { defaultHandler() }
    /// The worker is stopping while `task` was in progress.
    open func onStop(task: SergeantTask) throws { defaultHandler() }

    /// Async form of ``initialize()-()``.
    open func initialize() async throws { asyncDefaultHandler() }
    /// Async form of ``finalize()-()``.
    open func finalize() async throws { asyncDefaultHandler() }
    /// Async form of ``preWork(task:)-(SergeantTask)``.
    open func preWork(task: SergeantTask) async throws { asyncDefaultHandler() }
    /// Async form of ``postWork(task:success:failure:)-(_,_,_)``.
    open func postWork(task: SergeantTask, success: Bool, failure: String?) async throws { asyncDefaultHandler() }
    /// Async form of ``onSuccess(task:returnedValue:)-(_,_)``.
    open func onSuccess(task: SergeantTask, returnedValue: Value) async throws { asyncDefaultHandler() }
    /// Async form of ``onFailure(task:failure:)-(_,_)``.
    open func onFailure(task: SergeantTask, failure: String) async throws { asyncDefaultHandler() }
    /// Async form of ``onTimeout(task:)-(SergeantTask)``: the task's Swift task was cancelled.
    open func onTimeout(task: SergeantTask) async throws { asyncDefaultHandler() }
    /// Async form of ``onRetry(task:)-(SergeantTask)``.
    open func onRetry(task: SergeantTask) async throws { asyncDefaultHandler() }
    /// Async form of ``onMaxRetries(task:)-(SergeantTask)``.
    open func onMaxRetries(task: SergeantTask) async throws { asyncDefaultHandler() }
    /// Async form of ``onRequeue(task:)-(SergeantTask)``.
    open func onRequeue(task: SergeantTask) async throws { asyncDefaultHandler() }
    /// Async form of ``onStarvation(timeWithNoTasks:)-(Double)``.
    open func onStarvation(timeWithNoTasks: Double) async throws { asyncDefaultHandler() }
    /// Async form of ``onStop(task:)-(SergeantTask)``: the task's Swift task was cancelled.
    open func onStop(task: SergeantTask) async throws { asyncDefaultHandler() }

    private func defaultHandler() { TaskThreadState.current.syncDefaultReached = true }
    private func asyncDefaultHandler() { HandlerForms.probe?.asyncDefaultReached = true }

    // MARK: Control flow

    /// Pushes the task again with run_count + 1 and ends it as retried; past `max_retries`
    /// nothing is pushed and it ends as ``WorkerInterrupt/maxRetries``.
    public func retry(task: SergeantTask, priority: TaskPriority = .normal, consumableFrom: Double? = nil) throws -> Never {
        let bytes = task.messagePack()
        let connection = try attached()
        let retry = try connection.function(\.retry, named: "retry")
        let status = try bytes.withUnsafeBufferPointer { buffer in
            try connection.call("retry") { host, error in
                retry(host, buffer.baseAddress, buffer.count, priority.abiValue, consumableFrom ?? SERGEANT_NOT_DELAYED, error)
            }
        }
        throw status == .maxRetries ? WorkerInterrupt.maxRetries : WorkerInterrupt.retry
    }

    /// Pushes the task again unchanged and ends it as requeued.
    public func requeue(task: SergeantTask, priority: TaskPriority = .normal, consumableFrom: Double? = nil) throws -> Never {
        let bytes = task.messagePack()
        let connection = try attached()
        let requeue = try connection.function(\.requeue, named: "requeue")
        _ = try bytes.withUnsafeBufferPointer { buffer in
            try connection.call("requeue") { host, error in
                requeue(host, buffer.baseAddress, buffer.count, priority.abiValue, consumableFrom ?? SERGEANT_NOT_DELAYED, error)
            }
        }
        throw WorkerInterrupt.requeue
    }

    /// Stops every worker of the supervisor; none is spawned again.
    public func stop() throws -> Never { throw WorkerInterrupt.stop }

    /// Ends this worker process; the supervisor starts a fresh one.
    public func respawn() throws -> Never { throw WorkerInterrupt.respawn }

    /// True when the task running on this thread is past its timeout.
    public var isTimedOut: Bool {
        guard let host, let isTimedOut = try? host.function(\.is_timed_out, named: "is_timed_out") else { return false }
        return isTimedOut(host.state) != 0
    }

    /// Throws ``WorkerInterrupt/timeout`` when the running task is past its timeout: call it
    /// in long loops so that work stops cooperatively.
    public func checkTimeout() throws {
        if isTimedOut { throw WorkerInterrupt.timeout }
    }

    /// True when the worker was asked to stop (SIGTERM) while the task runs.
    public var shouldStop: Bool {
        guard let host, let shouldStop = try? host.function(\.should_stop, named: "should_stop") else { return false }
        return shouldStop(host.state) != 0
    }

    /// Throws ``WorkerInterrupt/timeout`` past the timeout and ``WorkerInterrupt/stop`` when
    /// the worker is stopping: call it in long loops.
    public func checkInterrupts() throws {
        try checkTimeout()
        if shouldStop { throw WorkerInterrupt.stop }
    }

    // MARK: Time

    /// The current wall-clock time in seconds since 1970, with sub-second precision, as
    /// Python's `time.time()`: the unit of `consumableFrom` and ``SergeantTask/date``.
    ///
    /// ```swift
    /// try pushTask(kwargs: ["type": "delayed"], consumableFrom: Self.unixTime() + 5)
    /// ```
    public static func unixTime() -> Double { SergeantCore.unixTime() }

    // MARK: Broker

    /// Pushes one task built from `kwargs` (a map) to this worker's queue or to `taskName`'s.
    /// The trace id defaults to the running task's.
    public func pushTask(kwargs: Value, taskName: String? = nil, priority: TaskPriority = .normal,
                         consumableFrom: Double? = nil, traceID: String? = nil) throws {
        try pushTasks(kwargsList: [kwargs], taskName: taskName, priority: priority,
                      consumableFrom: consumableFrom, traceID: traceID)
    }

    /// Pushes one task per kwargs map, in one round trip.
    public func pushTasks(kwargsList: [Value], taskName: String? = nil, priority: TaskPriority = .normal,
                          consumableFrom: Double? = nil, traceID: String? = nil) throws {
        for kwargs in kwargsList where kwargs.mapValue == nil {
            throw WorkerError("kwargs must be a map, got \(kwargs.kindName)")
        }
        let encoded = kwargsList.map(MessagePack.encode)
        let connection = try attached()
        let push = try connection.function(\.push_tasks, named: "push_tasks")
        let trace = traceID ?? Self.currentTraceID
        let pointers = encoded.map { bytes -> UnsafeMutablePointer<UInt8> in
            let copy = UnsafeMutablePointer<UInt8>.allocate(capacity: max(bytes.count, 1))
            copy.initialize(from: bytes, count: bytes.count)
            return copy
        }
        defer { pointers.forEach { $0.deallocate() } }
        let constPointers: [UnsafePointer<UInt8>?] = pointers.map { UnsafePointer($0) }
        let lengths = encoded.map(\.count)
        _ = try withOptionalCString(taskName) { name in
            try withOptionalCString(trace) { trace in
                try connection.call("push_tasks") { host, error in
                    push(host, name, constPointers, lengths, encoded.count, priority.abiValue,
                         consumableFrom ?? SERGEANT_NOT_DELAYED, trace, error)
                }
            }
        }
    }

    /// Pops up to `numberOfTasks` tasks from this worker's queue or `taskName`'s.
    public func getNextTasks(numberOfTasks: Int, taskName: String? = nil) throws -> [SergeantTask] {
        let connection = try attached()
        let pop = try connection.function(\.get_next_tasks, named: "get_next_tasks")
        let tasks = OutputBuffer()
        _ = try withOptionalCString(taskName) { name in
            try tasks.withOutput { output in
                try connection.call("get_next_tasks") { host, error in pop(host, name, numberOfTasks, output, error) }
            }
        }
        return try tasks.items.map { try SergeantTask(messagePack: $0) }
    }

    /// Deletes this worker's queue (or `taskName`'s) with its delayed tasks.
    public func purgeTasks(taskName: String? = nil) throws {
        let connection = try attached()
        let purge = try connection.function(\.purge_tasks, named: "purge_tasks")
        _ = try withOptionalCString(taskName) { name in
            try connection.call("purge_tasks") { host, error in purge(host, name, error) }
        }
    }

    /// Number of tasks waiting in this worker's queue (or `taskName`'s).
    public func numberOfEnqueuedTasks(taskName: String? = nil, includeDelayed: Bool = false) throws -> Int {
        let connection = try attached()
        let count = try connection.function(\.number_of_enqueued_tasks, named: "number_of_enqueued_tasks")
        var result: Int64 = 0
        _ = try withOptionalCString(taskName) { name in
            try connection.call("number_of_enqueued_tasks") { host, error in
                count(host, name, includeDelayed ? 1 : 0, &result, error)
            }
        }
        return Int(result)
    }

    /// A lock named `name`, shared by every worker on the broker.
    public func lock(_ name: String) -> Lock {
        Lock(name: name, link: link)
    }

    // MARK: Keys

    /// Stores `value` under `name`; true when the key did not exist.
    @discardableResult
    public func setKey(_ name: String, value: Value) throws -> Bool {
        let connection = try attached()
        let set = try connection.function(\.key_set, named: "key_set")
        let bytes = MessagePack.encode(value)
        var wasNew: Int32 = 0
        _ = try bytes.withUnsafeBufferPointer { buffer in
            try connection.call("key_set") { host, error in set(host, name, buffer.baseAddress, buffer.count, &wasNew, error) }
        }
        return wasNew != 0
    }

    /// The value stored under `name`, nil when unset.
    public func getKey(_ name: String) throws -> Value? {
        let connection = try attached()
        let get = try connection.function(\.key_get, named: "key_get")
        let value = OutputBuffer()
        var found: Int32 = 0
        _ = try value.withOutput { output in
            try connection.call("key_get") { host, error in get(host, name, output, &found, error) }
        }
        guard found != 0, let bytes = value.items.first else { return nil }
        return try MessagePack.decode(bytes)
    }

    /// Deletes key `name`; true when it existed.
    @discardableResult
    public func deleteKey(_ name: String) throws -> Bool {
        let connection = try attached()
        let delete = try connection.function(\.key_delete, named: "key_delete")
        var deleted: Int32 = 0
        try connection.call("key_delete") { host, error in delete(host, name, &deleted, error) }
        return deleted != 0
    }

    func attached() throws -> HostAPIClient {
        try link.requireConnection()
    }
}

extension TaskPriority {
    /// The ABI's priority number.
    var abiValue: sergeant_priority {
        self == .high ? SERGEANT_PRIORITY_HIGH : SERGEANT_PRIORITY_NORMAL
    }
}
