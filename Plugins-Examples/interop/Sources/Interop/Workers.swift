import Foundation
import Sergeant

// The Swift side of the interoperability tests with Python sergeant. Everything is set by
// environment variables, so that one .so serves every test:
//
//   INTEROP_QUEUE       the worker's name, which is its queue (default "interop")
//   INTEROP_COMPRESSOR  none, zlib, gzip, bzip2 or lzma (default none)
//   INTEROP_REDIS       comma-separated redis URLs, the connector's nodes in order; the host's
//                       SERGEANT_REDIS, when set, replaces them with its one node
//   INTEROP_OUTPUT      the file each worker appends one record per event to
//
// A record is one line: the hex of a msgpack map, so that the test reads back exactly the
// values the worker saw (bytes, 64-bit integers, map order) with `Value.messagePack()`.

/// The configuration every class here shares, read from the environment.
func interopConfig() -> WorkerConfig {
    let environment = ProcessInfo.processInfo.environment
    let nodes = (environment["INTEROP_REDIS"] ?? "redis://127.0.0.1:6379/0")
        .split(separator: ",")
        .compactMap { RedisNode(url: String($0).trimmingCharacters(in: .whitespaces)) }
    let compressorName = environment["INTEROP_COMPRESSOR"] ?? "none"
    return WorkerConfig(
        name: environment["INTEROP_QUEUE"] ?? "interop",
        connector: .redis(nodes: nodes),
        encoder: EncoderConfig(serializer: .msgpack, compressor: Compressor(rawValue: compressorName)),
        logging: LoggingConfig(level: .info, logToStdout: true)
    )
}

/// Appends one record to INTEROP_OUTPUT.
func record(_ fields: Value) throws {
    guard let path = ProcessInfo.processInfo.environment["INTEROP_OUTPUT"] else {
        throw WorkerError("INTEROP_OUTPUT is not set")
    }
    let line = fields.messagePack().map { String(format: "%02x", $0) }.joined() + "\n"
    let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard descriptor >= 0 else { throw WorkerError("cannot open \(path): \(String(cString: strerror(errno)))") }
    defer { close(descriptor) }
    let bytes = Array(line.utf8)
    // One write of an O_APPEND file: a line is never interleaved with another process's.
    guard write(descriptor, bytes, bytes.count) == bytes.count else { throw WorkerError("cannot write \(path)") }
}

/// Bytes from their hex text.
func bytes(hex: Substring) -> [UInt8]? {
    let digits = Array(hex.utf8)
    guard digits.count.isMultiple(of: 2) else { return nil }
    var result: [UInt8] = []
    result.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
        result.append(byte)
        index += 2
    }
    return result
}

// MARK: - Worker

/// Records every task it receives: {"kwargs", "trace_id", "run_count", "date", "received",
/// "pid"}. With INTEROP_FORWARD set it pushes the kwargs on to that queue (the trace id
/// follows), so that a value can go Python -> Swift -> Python.
final class Worker: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        interopConfig()
    }

    override func work(task: SergeantTask) throws {
        try record([
            "kwargs": .map(task.kwargs),
            "trace_id": task.traceID.map(Value.string) ?? .null,
            "run_count": .int(Int64(task.runCount)),
            "date": .double(task.date),
            "received": .double(Self.unixTime()),
            "pid": .int(Int64(getpid())),
        ])
        if let forward = ProcessInfo.processInfo.environment["INTEROP_FORWARD"], !forward.isEmpty {
            try pushTask(kwargs: .map(task.kwargs), taskName: forward)
        }
    }
}

// MARK: - Producer

/// Pushes the tasks of INTEROP_PUSH_FILE (one hex msgpack kwargs map per line) from its
/// `initialize`, records {"pushed", "consumable_from"}, and stops the supervisor.
///
///   INTEROP_PUSH_PRIORITY  NORMAL (default) or HIGH
///   INTEROP_PUSH_DELAY     seconds: the tasks are delayed (consumable_from = now + delay)
///   INTEROP_PUSH_TRACE_ID  the tasks' trace id
///   INTEROP_PUSH_BULK      1: one pushTasks call; otherwise one pushTask call per task, which
///                          rotates over the nodes
final class Producer: Sergeant.Worker {
    override func generateConfig() -> WorkerConfig {
        interopConfig()
    }

    override func initialize() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let path = environment["INTEROP_PUSH_FILE"] else { throw WorkerError("INTEROP_PUSH_FILE is not set") }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var kwargsList: [Value] = []
        for line in text.split(separator: "\n") where !line.isEmpty {
            guard let encoded = bytes(hex: line) else { throw WorkerError("\(path): a line is not hex") }
            kwargsList.append(try Value(messagePack: encoded))
        }
        let priority = TaskPriority(rawValue: environment["INTEROP_PUSH_PRIORITY"] ?? "NORMAL") ?? .normal
        let consumableFrom = environment["INTEROP_PUSH_DELAY"].flatMap(Double.init).map { Self.unixTime() + $0 }
        let traceID = environment["INTEROP_PUSH_TRACE_ID"]
        if environment["INTEROP_PUSH_BULK"] == "1" {
            try pushTasks(kwargsList: kwargsList, priority: priority, consumableFrom: consumableFrom, traceID: traceID)
        } else {
            for kwargs in kwargsList {
                try pushTask(kwargs: kwargs, priority: priority, consumableFrom: consumableFrom, traceID: traceID)
            }
        }
        try record(["pushed": .int(Int64(kwargsList.count)), "consumable_from": consumableFrom.map(Value.double) ?? .null])
        logger.info("pushed \(kwargsList.count) task(s)")
        try stop()
    }
}

// MARK: - Ops

/// Runs the lock and key operation each task names, and records {"op", "name", "result"}:
///
///   {"op": "acquire", "name": N, "timeout": seconds, "ttl": seconds}  result: taken
///   {"op": "release", "name": N}                                      result: released
///   {"op": "is_locked", "name": N}                                    result: held by anyone
///   {"op": "get_ttl", "name": N}                                      result: seconds or nil
///   {"op": "set_key", "name": N, "value": V}                          result: was new
///   {"op": "get_key", "name": N}                                      result: {"found", "value"}
///
/// Locks taken stay held (by this process) until a `release` task names them.
final class Ops: Sergeant.Worker {
    private var locks: [String: Lock] = [:]

    override func generateConfig() -> WorkerConfig {
        interopConfig()
    }

    override func work(task: SergeantTask) throws {
        guard let operation = task.kwargs["op"]?.stringValue, let name = task.kwargs["name"]?.stringValue else {
            throw WorkerError("an ops task needs string kwargs op and name, got \(task.kwargs)")
        }
        let result: Value
        switch operation {
        case "acquire":
            let lock = locks[name] ?? self.lock(name)
            locks[name] = lock
            let taken = try lock.acquire(timeout: task.kwargs["timeout"]?.doubleValue ?? 0, checkInterval: 0.05,
                                         ttl: task.kwargs["ttl"]?.intValue ?? 60)
            result = .bool(taken)
        case "release":
            result = .bool(try locks.removeValue(forKey: name)?.release() ?? false)
        case "is_locked":
            result = .bool(try lock(name).isLocked())
        case "get_ttl":
            result = try lock(name).getTTL().map { .int(Int64($0)) } ?? .null
        case "set_key":
            result = .bool(try setKey(name, value: task.kwargs["value"] ?? .null))
        case "get_key":
            let value = try getKey(name)
            result = ["found": .bool(value != nil), "value": value ?? .null]
        default:
            throw WorkerError("unknown op \(operation)")
        }
        try record(["op": .string(operation), "name": .string(name), "result": result, "received": .double(Self.unixTime())])
    }
}

/// Exports the worker classes of this module to sergeant-host.
@_cdecl("sergeant_worker_create")
public func sergeantWorkerCreate(_ className: UnsafePointer<CChar>?, _ hostAPI: UnsafeRawPointer?,
                                 _ workerAPI: UnsafeMutableRawPointer?, _ error: UnsafeRawPointer?) -> Int32 {
    exportWorkers([Worker.self, Producer.self, Ops.self], className: className, hostAPI: hostAPI,
                  workerAPI: workerAPI, error: error)
}
