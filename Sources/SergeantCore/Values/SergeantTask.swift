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
        var writer = MessagePack.Writer(capacity: 96)
        Self.write(to: &writer, traceID: traceID, date: date, runCount: runCount) { $0.write(.map(kwargs)) }
        return writer.bytes
    }

    /// Task bytes around kwargs that are already msgpack (a map), without decoding them.
    package static func messagePack(encodedKwargs: [UInt8], traceID: String?, date: Double, runCount: Int) -> [UInt8] {
        var writer = MessagePack.Writer(capacity: 64 + encodedKwargs.count)
        write(to: &writer, traceID: traceID, date: date, runCount: runCount) { $0.write(encoded: encodedKwargs) }
        return writer.bytes
    }

    /// `{"__task__": {"kwargs": ..., "trace_id": ..., "date": ..., "run_count": ...}}`, in
    /// Python's order.
    private static func write(to writer: inout MessagePack.Writer, traceID: String?, date: Double, runCount: Int,
                              kwargs: (inout MessagePack.Writer) -> Void) {
        writer.writeMapHeader(count: 1)
        writer.write(key: "__task__")
        writer.writeMapHeader(count: 4)
        writer.write(key: "kwargs")
        kwargs(&writer)
        writer.write(key: "trace_id")
        writer.write(string: traceID)
        writer.write(key: "date")
        writer.write(double: date)
        writer.write(key: "run_count")
        writer.write(int: Int64(runCount))
    }

    /// Reads a task from msgpack bytes; fields Python would default may be absent.
    public init(messagePack bytes: [UInt8]) throws(TaskDecodingError) {
        self = try bytes.withUnsafeBytes { buffer in
            Result { () throws(TaskDecodingError) in try Self.read(buffer, decodingKwargs: true) }
        }.get()
    }

    /// Reads a task from msgpack bytes borrowed from elsewhere (the plugin side of the ABI).
    package init(messagePack buffer: UnsafeRawBufferPointer) throws(TaskDecodingError) {
        self = try Self.read(buffer, decodingKwargs: true)
    }

    /// Checks that bytes are a task ``init(messagePack:)`` reads, without building it: the
    /// host's check before it hands the bytes to a plugin, which decodes them itself.
    package static func validate(messagePack bytes: [UInt8]) throws(TaskDecodingError) {
        _ = try bytes.withUnsafeBytes { buffer in
            Result { () throws(TaskDecodingError) in try read(buffer, decodingKwargs: false) }
        }.get()
    }

    /// Reads a task from a decoded `{"__task__": {...}}` value (the JSON serializer).
    package init(value: Value) throws(TaskDecodingError) {
        guard let fields = value["__task__"]?.mapValue else { throw Self.notATask(value.kind) }
        self.init(date: .nan)
        for entry in fields.entries {
            guard let name = entry.key.stringValue.flatMap(Field.init(rawValue:)) else { continue }
            try name.check(entry.value.kind)
            switch name {
            case .kwargs: kwargs = entry.value.mapValue ?? kwargs
            case .traceID: traceID = entry.value.stringValue
            case .date: date = entry.value.doubleValue ?? date
            case .runCount: runCount = try Field.runCount(entry.value)
            }
        }
        if date.isNaN { date = unixTime() }
    }

    // MARK: Reading msgpack

    /// The fields of `__task__`, and the kinds of value each accepts (both readers check
    /// them here).
    private enum Field: String {
        case kwargs
        case traceID = "trace_id"
        case date
        case runCount = "run_count"

        func check(_ kind: Value.Kind) throws(TaskDecodingError) {
            let expected: String
            switch self {
            case .kwargs where kind == .map: return
            case .kwargs: expected = "a map"
            case .traceID where kind == .null || kind == .string: return
            case .traceID: expected = "a string"
            case .date where kind == .integer || kind == .float: return
            case .date: expected = "a number"
            case .runCount where kind == .integer: return
            case .runCount: expected = "an integer"
            }
            throw TaskDecodingError("\(rawValue) is \(kind.name), expected \(expected)")
        }

        /// run_count as an Int (a msgpack integer may not fit).
        static func runCount(_ value: Value) throws(TaskDecodingError) -> Int {
            guard let number = value.intValue else { throw TaskDecodingError("run_count \(value) is out of range") }
            return number
        }

        /// The field a map key names, read without making a String of it.
        init?(bytes: UnsafeRawBufferPointer) {
            if equal(bytes, "kwargs") {
                self = .kwargs
            } else if equal(bytes, "trace_id") {
                self = .traceID
            } else if equal(bytes, "date") {
                self = .date
            } else if equal(bytes, "run_count") {
                self = .runCount
            } else {
                return nil
            }
        }
    }

    private static func notATask(_ kind: Value.Kind) -> TaskDecodingError {
        TaskDecodingError("not a sergeant task: expected a map with a \"__task__\" map, got \(kind.name)")
    }

    /// The layout Python sergeant and ``messagePack()`` write, read without looking keys up:
    /// `{"__task__": {"kwargs": map, "trace_id": nil|str, "date": float, "run_count": int}}`
    /// in that order. Nil for anything else, which the general reader below then reads (or
    /// refuses with the reason).
    private static func readCanonical(_ buffer: UnsafeRawBufferPointer, decodingKwargs: Bool) -> SergeantTask? {
        var reader = MessagePack.Reader(buffer: buffer)
        guard reader.readByte(0x81), reader.readString(equalTo: "__task__"), reader.readByte(0x84),
              reader.readString(equalTo: "kwargs") else { return nil }
        var task = SergeantTask(date: 0)
        do {
            guard try reader.peekKind() == .map else { return nil }
            if decodingKwargs {
                task.kwargs = try reader.read(depth: 2).mapValue ?? ValueMap()
            } else {
                try reader.skip(depth: 2)
            }
            guard reader.readString(equalTo: "trace_id") else { return nil }
            if !reader.readByte(0xc0) {
                guard let traceID = try reader.readStringBytes() else { return nil }
                if decodingKwargs { task.traceID = String(decoding: traceID, as: UTF8.self) }
            }
            guard reader.readString(equalTo: "date"), case .double(let date) = try reader.read(depth: 2),
                  reader.readString(equalTo: "run_count"), let runCount = try reader.read(depth: 2).intValue else { return nil }
            task.date = date
            task.runCount = runCount
            try reader.checkEnd()
        } catch {
            return nil
        }
        return task
    }

    /// Reads the task straight from the bytes; with `decodingKwargs` false the kwargs are
    /// only checked (the result then has none).
    private static func read(_ buffer: UnsafeRawBufferPointer, decodingKwargs: Bool) throws(TaskDecodingError) -> SergeantTask {
        if let task = readCanonical(buffer, decodingKwargs: decodingKwargs) { return task }
        var reader = MessagePack.Reader(buffer: buffer)
        var task = SergeantTask(date: .nan)
        do {
            let kind = try reader.peekKind()
            guard let count = try reader.readMapHeader() else {
                // Bytes that are not msgpack at all say so, rather than "not a task".
                try MessagePack.check(buffer)
                throw notATask(kind)
            }
            var found = false
            for _ in 0..<count {
                // Keys other than the first "__task__" are passed over, as the value reader does.
                guard !found, let key = try reader.readStringBytes() else {
                    try reader.skip(depth: 1)
                    try reader.skip(depth: 1)
                    continue
                }
                guard equal(key, "__task__") else {
                    try reader.skip(depth: 1)
                    continue
                }
                guard let fields = try reader.readMapHeader() else { throw notATask(kind) }
                found = true
                for _ in 0..<fields {
                    guard let key = try reader.readStringBytes() else {
                        try reader.skip(depth: 2)
                        try reader.skip(depth: 2)
                        continue
                    }
                    guard let field = Field(bytes: key) else {
                        try reader.skip(depth: 2)
                        continue
                    }
                    try field.check(try reader.peekKind())
                    switch field {
                    case .kwargs where decodingKwargs: task.kwargs = try reader.read(depth: 2).mapValue ?? ValueMap()
                    case .traceID where decodingKwargs: task.traceID = try reader.read(depth: 2).stringValue
                    case .date: task.date = try reader.read(depth: 2).doubleValue ?? .nan
                    case .runCount: task.runCount = try Field.runCount(try reader.read(depth: 2))
                    default: try reader.skip(depth: 2)
                    }
                }
            }
            guard found else { throw notATask(kind) }
            try reader.checkEnd()
        } catch let error as TaskDecodingError {
            throw error
        } catch {
            throw TaskDecodingError("\(error)")
        }
        if task.date.isNaN { task.date = unixTime() }
        return task
    }
}

/// True when `bytes` are the literal's UTF-8 bytes (a memcmp, no String made).
private func equal(_ bytes: UnsafeRawBufferPointer, _ literal: StaticString) -> Bool {
    guard bytes.count == literal.utf8CodeUnitCount else { return false }
    guard let base = bytes.baseAddress else { return true }
    return memcmp(base, literal.utf8Start, bytes.count) == 0
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
    /// What sort of value this is, as error messages name it.
    package enum Kind: Sendable, Equatable {
        case null, bool, integer, float, string, bytes, array, map

        /// "nil", "a boolean", "an integer", ...
        package var name: String {
            switch self {
            case .null: return "nil"
            case .bool: return "a boolean"
            case .integer: return "an integer"
            case .float: return "a float"
            case .string: return "a string"
            case .bytes: return "bytes"
            case .array: return "an array"
            case .map: return "a map"
            }
        }
    }

    /// What sort of value this is.
    package var kind: Kind {
        switch self {
        case .null: return .null
        case .bool: return .bool
        case .int, .uint: return .integer
        case .double: return .float
        case .string: return .string
        case .bytes: return .bytes
        case .array: return .array
        case .map: return .map
        }
    }

    /// A short name of the value's type, for error messages.
    package var kindName: String { kind.name }
}

/// The current unix time with sub-second precision (a plugin has `Worker.unixTime()`).
@usableFromInline
package func unixTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Sleeps for `seconds` (fractions allowed), resuming after signals.
package func pause(seconds: Double) {
    guard seconds > 0 else { return }
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&request, &remaining) == -1 && errno == EINTR { request = remaining }
}
