import SergeantBroker
import SergeantCore

// MARK: - Queue

/// One queue of a ``SergeantClient``: a cheap `Sendable` handle, to keep or to make again.
///
/// Every push returns once its tasks are stored (or throws the error of the round trip that
/// tried). Pushes issued concurrently with the same priority and `consumable_from` share one
/// round trip. A cancelled task's push still completes: it cannot be taken back.
///
/// ```swift
/// let queue = client.queue("test_worker")
/// try await queue.push(kwargs: ["url": "https://example.com"])
/// try await queue.push(many: [Job(id: 1), Job(id: 2)], priority: .high)
/// try await queue.push(kwargs: ["n": 3], delay: 60)          // consumable in a minute
/// let waiting = try await queue.count(includeDelayed: true)
/// try await queue.purge()
/// ```
public struct Queue: Sendable {
    /// The queue's name.
    public let name: String
    /// The client it pushes through.
    public let client: SergeantClient

    /// The synchronous form, for scripts and threads outside Swift concurrency: each call
    /// blocks the calling thread until it is done (do not call it from async code).
    public var blocking: BlockingQueue { BlockingQueue(queue: self) }

    // MARK: Push

    /// Pushes one task whose kwargs are `kwargs` encoded by ``ValueEncoder`` (a struct or a
    /// dictionary: the kwargs must be a map).
    ///
    /// - Parameters:
    ///   - priority: `.high` puts the task at the head of the queue.
    ///   - delay: seconds from now before a worker may take it.
    ///   - consumableFrom: the unix time from which a worker may take it (wins over `delay`).
    ///   - traceID: sergeant's `trace_id` of the task.
    public func push(kwargs: some Encodable, priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) async throws(SergeantClientError) {
        let items = [try stored(try map(kwargs), traceID: traceID)]
        try await send(items, key(priority, delay, consumableFrom))
    }

    /// Pushes one task with these kwargs.
    public func push(kwargs: ValueMap, priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) async throws(SergeantClientError) {
        try await send([try stored(kwargs, traceID: traceID)], key(priority, delay, consumableFrom))
    }

    /// Pushes one task with these kwargs, which must be a map.
    public func push(kwargs: Value, priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) async throws(SergeantClientError) {
        try await send([try stored(try Self.map(kwargs), traceID: traceID)], key(priority, delay, consumableFrom))
    }

    /// Pushes one task per element, all in one round trip (`push(many:)` of an empty array
    /// does nothing). Either all are stored or the error is thrown.
    public func push<Kwargs: Encodable>(many: [Kwargs], priority: TaskPriority = .normal, delay: Double? = nil,
                                        consumableFrom: Double? = nil, traceID: String? = nil) async throws(SergeantClientError) {
        var items: [[UInt8]] = []
        items.reserveCapacity(many.count)
        for kwargs in many { items.append(try stored(try map(kwargs), traceID: traceID)) }
        try await send(items, key(priority, delay, consumableFrom))
    }

    /// Pushes one task per kwargs map, all in one round trip.
    public func push(many: [ValueMap], priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) async throws(SergeantClientError) {
        var items: [[UInt8]] = []
        items.reserveCapacity(many.count)
        for kwargs in many { items.append(try stored(kwargs, traceID: traceID)) }
        try await send(items, key(priority, delay, consumableFrom))
    }

    // MARK: Queue state

    /// Number of queued tasks; the delayed ones too when `includeDelayed` (due ones always).
    public func count(includeDelayed: Bool = false) async throws(SergeantClientError) -> Int {
        let name = name
        return try await client.perform { broker throws(BrokerError) in try broker.count(queue: name, includeDelayed: includeDelayed) }
    }

    /// Deletes the queue with its delayed tasks; true when anything was there.
    @discardableResult
    public func purge() async throws(SergeantClientError) -> Bool {
        let name = name
        return try await client.perform { broker throws(BrokerError) in try broker.purge(queue: name) }
    }

    // MARK: Encoding

    /// The kwargs map of an `Encodable` value.
    func map(_ kwargs: some Encodable) throws(SergeantClientError) -> ValueMap {
        let value: Value
        do {
            value = try ValueEncoder(keyEncodingStrategy: client.options.keyEncodingStrategy).encode(kwargs)
        } catch {
            throw .encoding("\(error)")
        }
        return try Self.map(value)
    }

    static func map(_ value: Value) throws(SergeantClientError) -> ValueMap {
        guard let map = value.mapValue else {
            throw .encoding("kwargs must be a map (a struct or a dictionary), not \(value.kindName)")
        }
        return map
    }

    /// The task's bytes as the broker stores them: the task map of Python sergeant, encoded
    /// and compressed by the broker's encoder, checked against max_task_size.
    func stored(_ kwargs: ValueMap, traceID: String?) throws(SergeantClientError) -> [UInt8] {
        let broker = client.thread.broker
        let item: [UInt8]
        do { item = try broker.encoder.encode(messagePack: SergeantTask(kwargs: kwargs, traceID: traceID).messagePack()) } catch {
            throw .encoding(error.message)
        }
        if broker.maxTaskSize > 0, item.count > broker.maxTaskSize {
            throw .taskTooLarge(size: item.count, limit: broker.maxTaskSize)
        }
        return item
    }

    func key(_ priority: TaskPriority, _ delay: Double?, _ consumableFrom: Double?) -> BrokerThread.BatchKey {
        BrokerThread.BatchKey(queue: name, priority: priority, consumableFrom: consumableFrom ?? delay.map { unixTime() + $0 })
    }

    /// Hands stored items to the client's thread and waits for their round trip.
    func send(_ items: [[UInt8]], _ key: BrokerThread.BatchKey) async throws(SergeantClientError) {
        guard !items.isEmpty else { return }
        let thread = client.thread
        let result: Result<Void, SergeantClientError> = await withCheckedContinuation { continuation in
            thread.enqueue(.push(.init(key: key, items: items, complete: { continuation.resume(returning: $0) })))
        }
        try result.get()
    }

    /// ``send(_:_:)`` blocking the calling thread.
    func sendBlocking(_ items: [[UInt8]], _ key: BrokerThread.BatchKey) throws(SergeantClientError) {
        guard !items.isEmpty else { return }
        let done = Rendezvous<Result<Void, SergeantClientError>>()
        client.thread.enqueue(.push(.init(key: key, items: items, complete: { done.put($0) })))
        try done.take().get()
    }
}

// MARK: - BlockingQueue

/// ``Queue`` for synchronous code (scripts, threads of your own): the same operations, each
/// blocking the calling thread until done. Concurrent callers on several threads share
/// round trips as async callers do.
///
/// ```swift
/// let queue = try SergeantClient(url: "sqlite:///tmp/jobs.sqlite3").queue("test_worker").blocking
/// try queue.push(kwargs: ["n": 1])
/// print(try queue.count())
/// ```
public struct BlockingQueue: Sendable {
    /// The queue.
    public let queue: Queue

    /// Pushes one task (see ``Queue/push(kwargs:priority:delay:consumableFrom:traceID:)-(some Encodable,_,_,_,_)``).
    @available(*, noasync, message: "use the async push of Queue")
    public func push(kwargs: some Encodable, priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) throws(SergeantClientError) {
        try queue.sendBlocking([try queue.stored(try queue.map(kwargs), traceID: traceID)], queue.key(priority, delay, consumableFrom))
    }

    /// Pushes one task with these kwargs.
    @available(*, noasync, message: "use the async push of Queue")
    public func push(kwargs: ValueMap, priority: TaskPriority = .normal, delay: Double? = nil,
                     consumableFrom: Double? = nil, traceID: String? = nil) throws(SergeantClientError) {
        try queue.sendBlocking([try queue.stored(kwargs, traceID: traceID)], queue.key(priority, delay, consumableFrom))
    }

    /// Pushes one task per element, in one round trip.
    @available(*, noasync, message: "use the async push of Queue")
    public func push<Kwargs: Encodable>(many: [Kwargs], priority: TaskPriority = .normal, delay: Double? = nil,
                                        consumableFrom: Double? = nil, traceID: String? = nil) throws(SergeantClientError) {
        var items: [[UInt8]] = []
        for kwargs in many { items.append(try queue.stored(try queue.map(kwargs), traceID: traceID)) }
        try queue.sendBlocking(items, queue.key(priority, delay, consumableFrom))
    }

    /// Number of queued tasks; the delayed ones too when `includeDelayed`.
    @available(*, noasync, message: "use the async count of Queue")
    public func count(includeDelayed: Bool = false) throws(SergeantClientError) -> Int {
        let name = queue.name
        return try queue.client.performBlocking { broker throws(BrokerError) in try broker.count(queue: name, includeDelayed: includeDelayed) }
    }

    /// Deletes the queue with its delayed tasks; true when anything was there.
    @available(*, noasync, message: "use the async purge of Queue")
    @discardableResult
    public func purge() throws(SergeantClientError) -> Bool {
        let name = queue.name
        return try queue.client.performBlocking { broker throws(BrokerError) in try broker.purge(queue: name) }
    }
}
