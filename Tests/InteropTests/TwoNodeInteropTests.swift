import SergeantCore
import SergeantTestSupport
import XCTest

/// Two Redis nodes, given in the same order to both sides: keys and locks live on node
/// crc32(name) % 2 for both, and tasks pushed over both nodes are all consumed by the other.
final class TwoNodeInteropTests: InteropTestCase {
    let compressor = "gzip"

    override func setUpWithError() throws {
        try super.setUpWithError()
        servers.append(try RedisServer())
    }

    /// The node a key belongs on, computed here (CRC-32 written out in PythonValue.swift).
    func expectedNode(_ name: String) -> Int { Int(crc32(name) % 2) }

    /// Asserts that `key` exists on its crc32 node and not on the other.
    func assertPlaced(_ key: String, name: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let home = expectedNode(name)
        XCTAssertEqual(try reply(home, "EXISTS", key), ":1", "\(key) is not on node \(home)", file: file, line: line)
        XCTAssertEqual(try reply(1 - home, "EXISTS", key), ":0", "\(key) is also on node \(1 - home)", file: file, line: line)
    }

    func testKeysAndLocksLandOnTheSameNodeForBothSides() throws {
        XCTAssertEqual(crc32("123456789"), 0xcbf4_3926, "the test's own CRC-32 is the standard one")
        let ops = try SwiftOps(self, queue: "interop_two_nodes", compressor: compressor)
        let connection = pythonConnection(queue: "interop_two_nodes", compressor: compressor)
        let values: [PythonValue] = [.int(-7), .str("ünï"), .bytes([0, 1, 2]), .tuple([.int(1), .none]), .uint(UInt64.max),
                                     .dict(["nested": .list([.float(1.5)])]), .bool(true), .datetime(1_709_209_845.5)]

        // Python sets keys; each is on its crc32 node, and Swift reads every one.
        let pythonNames = values.indices.map { "python-key-\($0)" }
        let pairs = zip(pythonNames, values).map { PythonValue.Pair(key: .str($0), value: $1) }
        let valuesFile = try write([PythonValue.dict(pairs).typedJSON], to: "values.jsonl")
        try runPython("keys.py", connection + ["set", "--values-file", valuesFile])
        XCTAssertEqual(Set(pythonNames.map(expectedNode)), [0, 1], "the names cover both nodes")
        for (name, value) in zip(pythonNames, values) {
            try assertPlaced(name, name: name)
            let result = try ops.run(["op": "get_key", "name": .string(name)])
            XCTAssertEqual(result["found"], .bool(true), "Swift looked for \(name) on another node")
            XCTAssertEqual(result["value"], value.wireValue, name)
        }

        // Swift sets keys; each is on its crc32 node, and Python reads every one.
        let swiftNames = values.indices.map { "swift-key-\($0)" }
        XCTAssertEqual(Set(swiftNames.map(expectedNode)), [0, 1], "the names cover both nodes")
        for (name, value) in zip(swiftNames, values) where value.wireValue.bytesValue == nil {
            XCTAssertEqual(try ops.run(["op": "set_key", "name": .string(name), "value": value.wireValue]), .bool(true))
            try assertPlaced(name, name: name)
        }
        let report = path("keys.json")
        let readable = zip(swiftNames, values).filter { $0.1.wireValue.bytesValue == nil }
        try runPython("keys.py", connection + ["get", "--names", readable.map(\.0).joined(separator: ","), "--report", report])
        let read = try Value(json: String(contentsOfFile: report, encoding: .utf8))
        for (name, value) in readable {
            let typed = try XCTUnwrap(read[name], "\(name) missing in \(read)")
            XCTAssertFalse(typed.isNull, "Python looked for \(name) on another node")
            if !typed.isNull { XCTAssertEqual(try PythonValue(typed: typed), value, name) }
        }

        // Locks: the key of each is on crc32(NAME) % 2 (the name without the __lock__. prefix),
        // whichever side takes it, and the other side sees it.
        let lockNames = ["lock-a", "lock-b", "lock-c", "lock-d"]
        XCTAssertEqual(Set(lockNames.map(expectedNode)), [0, 1], "the lock names cover both nodes")
        for name in lockNames {
            XCTAssertEqual(try ops.run(["op": "acquire", "name": .string(name), "timeout": 1, "ttl": 30]), .bool(true))
            try assertPlaced("__lock__.\(name)", name: name)
            let tryReport = path("try-\(name).json")
            try runPython("lock.py", connection + ["--name", name, "--report", tryReport, "try", "--timeout", "0.2"])
            let attempt = try XCTUnwrap(try pythonRecords(tryReport).first)
            XCTAssertEqual(attempt["is_locked"], .bool(true), "Python looked for \(name) on another node")
            XCTAssertEqual(attempt["acquired"], .bool(false), "Python took \(name) while Swift holds it")
            XCTAssertEqual(try ops.run(["op": "release", "name": .string(name)]), .bool(true))
        }
    }

    /// Python pushes tasks one by one (round robin over both nodes); a Swift worker with the
    /// same node list consumes all of them, from both nodes.
    func testPythonTasksOverBothNodesReachSwift() throws {
        let queue = "interop_spread", count = 20
        let kwargs = (0..<count).map { PythonValue.dict(["index": .int(Int64($0))]) }
        let file = try write(kwargs.map(\.typedJSON), to: "kwargs.jsonl")
        try runPython("producer.py", pythonConnection(queue: queue, compressor: compressor) + ["--kwargs-file", file])
        XCTAssertEqual(try reply(0, "LLEN", queue), ":\(count / 2)", "round robin puts half on node 0")
        XCTAssertEqual(try reply(1, "LLEN", queue), ":\(count / 2)", "round robin puts half on node 1")

        let output = path("swift.records")
        let host = try startHost("Worker", environment: swiftEnvironment(queue: queue, compressor: compressor, output: output))
        _ = try waitForLines(output, count: count, "tasks at the Swift worker", process: host)
        let indexes = try swiftRecords(output).compactMap { $0["kwargs"]?["index"]?.intValue }
        XCTAssertEqual(indexes.sorted(), Array(0..<count))
        XCTAssertEqual(try reply(0, "LLEN", queue), ":0")
        XCTAssertEqual(try reply(1, "LLEN", queue), ":0")
        stop(host)
    }

    /// The Swift worker pushes tasks one by one (round robin over both nodes); a Python worker
    /// with the same node list consumes all of them, from both nodes.
    func testSwiftTasksOverBothNodesReachPython() throws {
        let queue = "interop_spread", count = 20
        let kwargs = (0..<count).map { PythonValue.dict(["index": .int(Int64($0)), "payload": .bytes([UInt8($0)])]) }
        let pushFile = try write(kwargs.map { hex(MessagePack.encode($0.wireValue)) }, to: "push.hex")
        let producer = try startHost("Producer", environment: swiftEnvironment(
            queue: queue, compressor: compressor, output: path("producer.records"), extra: ["INTEROP_PUSH_FILE": pushFile]))
        XCTAssertEqual(producer.wait(timeout: 60), 0, producer.output)
        XCTAssertEqual(try reply(0, "LLEN", queue), ":\(count / 2)", "round robin puts half on node 0")
        XCTAssertEqual(try reply(1, "LLEN", queue), ":\(count / 2)", "round robin puts half on node 1")

        let output = path("python.records")
        try runPython("worker.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--tasks", String(count), "--output", output])
        let received = try pythonRecords(output).map { try pythonKwargs($0) }
        XCTAssertEqual(Set(received), Set(kwargs))
        XCTAssertEqual(received.count, count)
        XCTAssertEqual(try reply(0, "LLEN", queue), ":0")
        XCTAssertEqual(try reply(1, "LLEN", queue), ":0")
    }
}
