import CCompression
import SergeantCore

// MARK: - One dead letter

/// One entry of `NAME.dead` as a page or a command names it: its place when it was read and
/// a digest of its bytes, so that acting on it later acts on exactly that entry even when
/// others came or went in between.
public struct DeadLetterEntry: Sendable, Equatable {
    /// Its index in `NAME.dead` (from the head) when it was read.
    public var index: Int
    /// The entry's stored bytes.
    public var bytes: [UInt8]
    /// The entry, read; or why it cannot be.
    public var letter: Result<DeadLetter, BrokerError>

    /// Reads entry `bytes` found at `index`.
    public init(index: Int, bytes: [UInt8]) {
        self.index = index
        self.bytes = bytes
        letter = Result { () throws(BrokerError) in try DeadLetter(entry: bytes) }
    }

    /// crc32 and length of the bytes, in hex and decimal: what a form sends back to name it.
    public var digest: String { Self.digest(of: bytes) }

    /// The digest of entry bytes `bytes`.
    public static func digest(of bytes: [UInt8]) -> String {
        let crc = bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        return String(crc, radix: 16) + "-" + String(bytes.count)
    }

    /// Same place, same bytes.
    public static func == (lhs: DeadLetterEntry, rhs: DeadLetterEntry) -> Bool {
        lhs.index == rhs.index && lhs.bytes == rhs.bytes
    }
}

/// What happened to one dead letter asked to move.
public enum DeadLetterAction: Sendable, Equatable {
    /// The task is back at the tail of its queue (requeue), or the entry is gone (drop).
    case done
    /// No entry of `NAME.dead` has these bytes any more: someone requeued or dropped it.
    case gone
    /// The entry cannot be read as a dead letter, so it has no task to requeue: drop it.
    case unreadable(String)
}

extension Broker {
    /// Up to `limit` raw entries of `NAME.dead` from the head, each with its index, left in place.
    public func deadLetterEntries(queue: String, limit: Int) throws(BrokerError) -> [DeadLetterEntry] {
        let entries = try withConnector { connector throws(BrokerError) in try connector.peek(queue: keys(queue).dead, count: limit) }
        return entries.enumerated().map { DeadLetterEntry(index: $0.offset, bytes: $0.element) }
    }

    /// The entry of `NAME.dead` whose digest is `digest`: at `index` if it is still there,
    /// else wherever it moved among the first `limit`; nil when it is gone.
    public func deadLetterEntry(queue: String, index: Int, digest: String, limit: Int = 1000) throws(BrokerError) -> DeadLetterEntry? {
        let entries = try deadLetterEntries(queue: queue, limit: max(limit, index + 1))
        if index >= 0, index < entries.count, entries[index].digest == digest { return entries[index] }
        return entries.first { $0.digest == digest }
    }

    /// Moves the task of this one dead letter back to the tail of its queue, its bytes
    /// unchanged, and removes the entry, in one atomic step; the other entries stay.
    public func requeueDeadLetter(_ entry: DeadLetterEntry, queue: String) throws(BrokerError) -> DeadLetterAction {
        let task: [UInt8]
        switch entry.letter {
        case .success(let letter): task = letter.task
        case .failure(let error): return .unreadable(error.message)
        }
        let keys = keys(queue)
        let moved = try withConnector { connector throws(BrokerError) in
            try connector.moveOne(entry.bytes, from: keys.dead, to: keys.queue, as: task)
        }
        return moved ? .done : .gone
    }

    /// Deletes this one dead letter; the other entries stay.
    public func dropDeadLetter(_ entry: DeadLetterEntry, queue: String) throws(BrokerError) -> DeadLetterAction {
        let keys = keys(queue)
        let dropped = try withConnector { connector throws(BrokerError) in
            try connector.moveOne(entry.bytes, from: keys.dead, to: nil, as: [])
        }
        return dropped ? .done : .gone
    }
}
