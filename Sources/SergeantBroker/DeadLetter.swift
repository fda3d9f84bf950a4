import SergeantCore

// MARK: - DeadLetter

/// One entry of a queue's dead-letter list (`NAME.dead`): a task that could not be decoded or
/// kept killing its workers, with why and when it was set aside. Stored as msgpack
/// `{"reason": str, "date": float, "task": bytes}`; the task's bytes are kept exactly as they
/// were stored, so a requeued task is the original.
///
/// ```swift
/// for letter in try broker.deadLetters(queue: "q", limit: 10) {
///     print(letter.reason, letter.task.count)
/// }
/// ```
public struct DeadLetter: Sendable, Equatable {
    /// The task's bytes as they were stored (compressed when the worker compresses).
    public var task: [UInt8]
    /// Why it was set aside.
    public var reason: String
    /// When, as unix time.
    public var date: Double

    /// A dead letter set aside now.
    public init(task: [UInt8], reason: String, date: Double = unixTime()) {
        self.task = task
        self.reason = reason
        self.date = date
    }

    /// Reads an entry of the dead-letter list; throws when it is not one.
    public init(entry: [UInt8]) throws(BrokerError) {
        let value: Value
        do { value = try MessagePack.decode(entry) } catch {
            throw BrokerError("not a dead-letter entry (\(entry.count) bytes that are not msgpack): \(error)")
        }
        guard let task = value["task"]?.bytesValue else {
            throw BrokerError("not a dead-letter entry: a msgpack \(value.kindName) without the task's bytes")
        }
        self.init(task: task, reason: value["reason"]?.stringValue ?? "(no reason given)", date: value["date"]?.doubleValue ?? 0)
    }

    /// The entry's bytes.
    public var encoded: [UInt8] {
        MessagePack.encode(["reason": .string(reason), "date": .double(date), "task": .bytes(task)])
    }
}

// MARK: - Broker + dead letters

extension Broker {
    /// Appends dead-letter entries (``DeadLetter/encoded``) to `NAME.dead`.
    public func setAside(_ entries: [[UInt8]], queue: String) throws(BrokerError) {
        try withConnector { connector throws(BrokerError) in
            try connector.push(queue: keys(queue).dead, items: entries, priority: .normal, consumableFrom: nil)
        }
    }

    /// Up to `limit` entries of `NAME.dead` from the head, left in place; an entry that is not
    /// readable is returned as the error that says why.
    public func deadLetters(queue: String, limit: Int) throws(BrokerError) -> [Result<DeadLetter, BrokerError>] {
        let entries = try withConnector { connector throws(BrokerError) in try connector.peek(queue: keys(queue).dead, count: limit) }
        return entries.map { entry in Result { () throws(BrokerError) in try DeadLetter(entry: entry) } }
    }

    /// Number of entries in `NAME.dead`.
    public func deadLetterCount(queue: String) throws(BrokerError) -> Int {
        try withConnector { connector throws(BrokerError) in try connector.length(queue: keys(queue).dead, includeDelayed: false) }
    }

    /// Moves every set-aside task back to the tail of its queue, its bytes unchanged, each
    /// batch in one atomic step (a crash loses nothing and duplicates nothing). An entry that
    /// cannot be read stays in `NAME.dead`, rewritten as an entry that says why. Returns how
    /// many were requeued and how many stayed.
    public func requeueDeadLetters(queue: String) throws(BrokerError) -> (requeued: Int, kept: Int) {
        let keys = keys(queue)
        let result = try withConnector { connector throws(BrokerError) in
            try connector.moveAll(from: keys.dead, to: keys.queue, batch: 1000) { entry in
                do throws(BrokerError) {
                    return .move(try DeadLetter(entry: entry).task)
                } catch {
                    return .keep(DeadLetter(task: entry, reason: "this entry of \(keys.dead) could not be read (\(error.message));"
                        + " its bytes are kept here as the task").encoded)
                }
            }
        }
        return (result.moved, result.kept)
    }

    /// Deletes every set-aside task of `queue`; true when there were any.
    @discardableResult
    public func purgeDeadLetters(queue: String) throws(BrokerError) -> Bool {
        try withConnector { connector throws(BrokerError) in try connector.delete(queue: keys(queue).dead) }
    }
}
