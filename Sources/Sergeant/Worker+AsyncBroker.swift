import SergeantCore

// MARK: - Async broker calls

/// The broker calls of a worker in async form, for `work(task:) async`: each runs its host
/// call (a Redis round trip) on a dedicated thread and suspends meanwhile, so the
/// cooperative pool keeps running other tasks. Inside async code Swift picks these over the
/// synchronous forms of the same names.
extension Worker {
    /// Async form of ``pushTask(kwargs:taskName:priority:consumableFrom:traceID:)``.
    public func pushTask(kwargs: Value, taskName: String? = nil, priority: TaskPriority = .normal,
                         consumableFrom: Double? = nil, traceID: String? = nil) async throws {
        try await pushTasks(kwargsList: [kwargs], taskName: taskName, priority: priority,
                            consumableFrom: consumableFrom, traceID: traceID)
    }

    /// Async form of ``pushTasks(kwargsList:taskName:priority:consumableFrom:traceID:)``.
    public func pushTasks(kwargsList: [Value], taskName: String? = nil, priority: TaskPriority = .normal,
                          consumableFrom: Double? = nil, traceID: String? = nil) async throws {
        // The running task's trace id is read here, where its task-local value is.
        let trace = traceID ?? Self.currentTraceID
        try await BlockingCalls.offload { [this = Shared(value: self)] in
            try this.value.pushTasks(kwargsList: kwargsList, taskName: taskName, priority: priority, consumableFrom: consumableFrom,
                          traceID: trace)
        }
    }

    /// Async form of ``getNextTasks(numberOfTasks:taskName:)``.
    public func getNextTasks(numberOfTasks: Int, taskName: String? = nil) async throws -> [SergeantTask] {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.getNextTasks(numberOfTasks: numberOfTasks, taskName: taskName) }
    }

    /// Async form of ``purgeTasks(taskName:)``.
    public func purgeTasks(taskName: String? = nil) async throws {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.purgeTasks(taskName: taskName) }
    }

    /// Async form of ``numberOfEnqueuedTasks(taskName:includeDelayed:)``.
    public func numberOfEnqueuedTasks(taskName: String? = nil, includeDelayed: Bool = false) async throws -> Int {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.numberOfEnqueuedTasks(taskName: taskName, includeDelayed: includeDelayed) }
    }

    /// Async form of ``setKey(_:value:)``.
    @discardableResult
    public func setKey(_ name: String, value: Value) async throws -> Bool {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.setKey(name, value: value) }
    }

    /// Async form of ``getKey(_:)``.
    public func getKey(_ name: String) async throws -> Value? {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.getKey(name) }
    }

    /// Async form of ``deleteKey(_:)``.
    @discardableResult
    public func deleteKey(_ name: String) async throws -> Bool {
        try await BlockingCalls.offload { [this = Shared(value: self)] in try this.value.deleteKey(name) }
    }

    /// Async form of ``retry(task:priority:consumableFrom:)``: pushes the task again and ends it
    /// as retried (or as ``WorkerInterrupt/maxRetries``).
    public func retry(task: SergeantTask, priority: TaskPriority = .normal, consumableFrom: Double? = nil) async throws -> Never {
        try await BlockingCalls.offload { [this = Shared(value: self)] () throws -> Void in
            try this.value.retry(task: task, priority: priority, consumableFrom: consumableFrom)
        }
        throw WorkerInterrupt.retry
    }

    /// Async form of ``requeue(task:priority:consumableFrom:)``.
    public func requeue(task: SergeantTask, priority: TaskPriority = .normal, consumableFrom: Double? = nil) async throws -> Never {
        try await BlockingCalls.offload { [this = Shared(value: self)] () throws -> Void in
            try this.value.requeue(task: task, priority: priority, consumableFrom: consumableFrom)
        }
        throw WorkerInterrupt.requeue
    }
}
