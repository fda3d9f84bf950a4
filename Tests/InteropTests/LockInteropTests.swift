import SergeantCore
import SergeantTestSupport
import XCTest

/// A lock taken by one side blocks the other: both are sergeant's `__lock__.NAME` key, taken
/// with SET NX EX.
final class LockInteropTests: InteropTestCase {
    let queue = "interop_ops", compressor = "none", lockName = "shared-resource"
    var ops: SwiftOps!

    override func setUpWithError() throws {
        try super.setUpWithError()
        ops = try SwiftOps(self, queue: queue, compressor: compressor)
    }

    override func tearDown() {
        ops = nil
        super.tearDown()
    }

    /// Python's lock.py `try`: whether the lock was held, and whether acquire(timeout) got it.
    func pythonTry(_ name: String, timeout: Double = 0.3) throws -> Value {
        let report = path("try-\(UUID().uuidString).json")
        try runPython("lock.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--name", name, "--report", report, "try", "--timeout", String(timeout)])
        return try XCTUnwrap(try pythonRecords(report).first)
    }

    func testPythonLockBlocksSwift() throws {
        let report = path("hold.json"), releaseFile = path("release-now")
        let holder = try startPython("lock.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--name", lockName, "--report", report, "hold", "--release-file", releaseFile, "--ttl", "45"])
        _ = try waitForLines(report, count: 1, "Python to take the lock", process: holder)
        XCTAssertEqual(try pythonRecords(report).first?["acquired"], .bool(true))

        // sergeant's key, with the TTL Python set.
        XCTAssertEqual(try server.command("EXISTS", "__lock__.\(lockName)"), ":1")
        let ttl = try XCTUnwrap(Int(try server.command("TTL", "__lock__.\(lockName)").dropFirst()))
        XCTAssertTrue((1...45).contains(ttl), "TTL \(ttl)")

        XCTAssertEqual(try ops.run(["op": "is_locked", "name": .string(lockName)]), .bool(true), "Swift sees Python's lock")
        let started = unixTime()
        XCTAssertEqual(try ops.run(["op": "acquire", "name": .string(lockName), "timeout": 0.5, "ttl": 30]), .bool(false),
                       "Swift took a lock Python holds")
        XCTAssertGreaterThanOrEqual(unixTime() - started, 0.5, "Swift's acquire did not wait its timeout")
        let swiftTTL = try XCTUnwrap(try ops.run(["op": "get_ttl", "name": .string(lockName)]).intValue)
        XCTAssertTrue((1...45).contains(swiftTTL), "Swift reads the TTL Python set: \(swiftTTL)")

        // Python releases; Swift's waiting acquire gets it.
        try ops.push(["op": "acquire", "name": .string(lockName), "timeout": 20, "ttl": 30])
        _ = FileManager.default.createFile(atPath: releaseFile, contents: nil)
        XCTAssertEqual(try ops.waitForResult(), .bool(true), "Swift did not get the lock once Python released it")
        XCTAssertEqual(holder.wait(timeout: 30), 0, holder.output)
        XCTAssertEqual(try pythonRecords(report).last?["released"], .bool(true))
        let newTTL = try XCTUnwrap(Int(try server.command("TTL", "__lock__.\(lockName)").dropFirst()))
        XCTAssertTrue((1...30).contains(newTTL), "Swift's lock has its own TTL: \(newTTL)")
    }

    func testSwiftLockBlocksPython() throws {
        XCTAssertEqual(try ops.run(["op": "acquire", "name": .string(lockName), "timeout": 1, "ttl": 40]), .bool(true))
        XCTAssertEqual(try server.command("EXISTS", "__lock__.\(lockName)"), ":1", "Swift's lock is sergeant's key")
        let ttl = try XCTUnwrap(Int(try server.command("TTL", "__lock__.\(lockName)").dropFirst()))
        XCTAssertTrue((1...40).contains(ttl), "SET NX EX 40 gave TTL \(ttl)")

        let attempt = try pythonTry(lockName)
        XCTAssertEqual(attempt["is_locked"], .bool(true), "Python sees Swift's lock")
        XCTAssertEqual(attempt["acquired"], .bool(false), "Python took a lock Swift holds")

        // A Python holder waits while Swift holds the lock, and gets it after Swift's release.
        let report = path("hold.json"), releaseFile = path("release-now")
        let holder = try startPython("lock.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--name", lockName, "--report", report, "hold", "--release-file", releaseFile])
        XCTAssertEqual(try ops.run(["op": "is_locked", "name": .string(lockName)]), .bool(true))
        XCTAssertTrue(lines(report).isEmpty, "Python's acquire got a lock Swift holds")
        XCTAssertEqual(try ops.run(["op": "release", "name": .string(lockName)]), .bool(true))
        _ = try waitForLines(report, count: 1, "Python to take the lock Swift released", process: holder)
        XCTAssertEqual(try pythonRecords(report).first?["acquired"], .bool(true))
        XCTAssertEqual(try ops.run(["op": "acquire", "name": .string(lockName), "timeout": 0.2, "ttl": 30]), .bool(false),
                       "Swift took the lock Python now holds")
        _ = FileManager.default.createFile(atPath: releaseFile, contents: nil)
        XCTAssertEqual(holder.wait(timeout: 30), 0, holder.output)

        let free = try pythonTry(lockName)
        XCTAssertEqual(free["is_locked"], .bool(false))
        XCTAssertEqual(free["acquired"], .bool(true))
        XCTAssertEqual(free["released"], .bool(true))
    }
}

// MARK: - SwiftOps

/// Drives the interop plugin's `Ops` worker: each operation is a task pushed with
/// `sergeant push`; its result is read from the worker's records.
final class SwiftOps {
    let test: InteropTestCase
    let environment: [String: String]
    let output: String
    let host: ChildProcess
    private var expected = 0

    init(_ test: InteropTestCase, queue: String, compressor: String) throws {
        self.test = test
        output = test.path("ops-\(UUID().uuidString).records")
        environment = test.swiftEnvironment(queue: queue, compressor: compressor, output: output)
        host = try test.startHost("Ops", environment: environment)
    }

    /// Pushes one operation.
    func push(_ kwargs: Value) throws {
        let json = try kwargs.jsonText()
        try test.swiftPush("Ops", kwargs: [json], environment: environment)
        expected += 1
    }

    /// Waits for the result of the last operation pushed.
    func waitForResult() throws -> Value {
        _ = try test.waitForLines(output, count: expected, "Swift's Ops result", process: host)
        let record = try XCTUnwrap(try test.swiftRecords(output).last)
        return record["result"] ?? .null
    }

    /// Runs one operation and returns its result.
    func run(_ kwargs: Value) throws -> Value {
        try push(kwargs)
        return try waitForResult()
    }
}

extension Value {
    /// JSON text of a value made of maps with string keys, strings, numbers, booleans and nil
    /// (what `sergeant push --kwargs` takes).
    func jsonText() throws -> String {
        switch self {
        case .null: return "null"
        case .bool(let flag): return flag ? "true" : "false"
        case .int(let number): return String(number)
        case .uint(let number): return String(number)
        case .double(let number): return "\(number)"
        case .string(let text): return jsonString(text)
        case .array(let items): return "[" + (try items.map { try $0.jsonText() }).joined(separator: ",") + "]"
        case .map(let map):
            return "{" + (try map.entries.map { entry in
                guard let key = entry.key.stringValue else { throw InteropError("JSON keys are strings: \(entry.key)") }
                return jsonString(key) + ":" + (try entry.value.jsonText())
            }).joined(separator: ",") + "}"
        case .bytes: throw InteropError("JSON has no bytes")
        }
    }
}
