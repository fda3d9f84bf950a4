#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - SergeantTask

/// sergeant's `task`: the kwargs a producer pushed plus sergeant's bookkeeping.
///
/// It is not called `Task` so that it does not shadow Swift concurrency's `Task` in worker
/// files. On the wire it is the msgpack map Python sergeant 0.27 writes:
/// `{"__task__": {"kwargs": {...}, "trace_id": nil|str, "date": float, "run_count": int}}`.
public struct SergeantTask: Sendable, Hashable {
    /// The parameters the producer gave (`task.kwargs` in Python).
    public var kwargs: ValueMap
    /// An identifier shared by a task and the tasks pushed while it ran.
    public var traceID: String?
    /// When the task was created, as unix time.
    public var date: Double
    /// How many times the task was retried.
    public var runCount: Int

    /// Creates a task; `date` defaults to now.
    public init(kwargs: ValueMap = ValueMap(), traceID: String? = nil, date: Double = unixTime(), runCount: Int = 0) {
        self.kwargs = kwargs
        self.traceID = traceID
        self.date = date
        self.runCount = runCount
    }
}

// MARK: - Wire format

extension SergeantTask {
    /// The task as msgpack bytes, byte for byte as Python sergeant's msgpack serializer writes it.
    public func messagePack() -> [UInt8] {
        Self.messagePack(encodedKwargs: MessagePack.encode(.map(kwargs)), traceID: traceID, date: date, runCount: runCount)
    }

    /// Task bytes around kwargs that are already msgpack (a map), without decoding them.
    public static func messagePack(encodedKwargs: [UInt8], traceID: String?, date: Double, runCount: Int) -> [UInt8] {
        var writer = MessagePack.Writer(capacity: 64 + encodedKwargs.count)
        writer.writeMapHeader(count: 1)
        writer.write(string: "__task__")
        writer.writeMapHeader(count: 4)
        writer.write(string: "kwargs")
        writer.write(encoded: encodedKwargs)
        writer.write(string: "trace_id")
        writer.write(string: traceID)
        writer.write(string: "date")
        writer.write(double: date)
        writer.write(string: "run_count")
        writer.write(int: Int64(runCount))
        return writer.bytes
    }

    /// Reads a task from msgpack bytes; fields Python would default may be absent.
    public init(messagePack bytes: [UInt8]) throws(TaskDecodingError) {
        let value: Value
        do { value = try MessagePack.decode(bytes) } catch { throw TaskDecodingError(error.description) }
        try self.init(value: value)
    }

    /// Reads a task from a decoded `{"__task__": {...}}` value.
    public init(value: Value) throws(TaskDecodingError) {
        guard let fields = value["__task__"]?.mapValue else {
            throw TaskDecodingError("not a sergeant task: expected a map with a \"__task__\" map, got \(value.kindName)")
        }
        self.init()
        if let kwargs = fields["kwargs"] {
            guard let map = kwargs.mapValue else { throw TaskDecodingError("kwargs is \(kwargs.kindName), expected a map") }
            self.kwargs = map
        }
        if let traceID = fields["trace_id"], !traceID.isNull {
            guard let string = traceID.stringValue else { throw TaskDecodingError("trace_id is \(traceID.kindName), expected a string") }
            self.traceID = string
        }
        if let date = fields["date"] {
            guard let number = date.doubleValue else { throw TaskDecodingError("date is \(date.kindName), expected a number") }
            self.date = number
        }
        if let runCount = fields["run_count"] {
            guard let number = runCount.intValue else { throw TaskDecodingError("run_count is \(runCount.kindName), expected an integer") }
            self.runCount = number
        }
    }
}

// MARK: - TaskDecodingError

/// Bytes that are not a task this worker can read (garbage, pickle, a wrong compressor).
public struct TaskDecodingError: Error, Sendable, CustomStringConvertible {
    /// What was wrong.
    public let message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

extension Value {
    /// A short name of the value's type, for error messages.
    public var kindName: String {
        switch self {
        case .null: return "nil"
        case .bool: return "a boolean"
        case .int, .uint: return "an integer"
        case .double: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .array: return "an array"
        case .map: return "a map"
        }
    }
}

/// The current unix time with sub-second precision.
public func unixTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Sleeps for `seconds` (fractions allowed), resuming after signals.
public func pause(seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
