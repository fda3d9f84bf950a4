import SergeantCore
import SergeantTestSupport
import XCTest

/// Delayed tasks (consumable_from) and HIGH priority tasks pushed by one side are consumed by
/// the other in the right order, and a delayed task not before its time.
final class SchedulingInteropTests: InteropTestCase {
    static let delay = 3.0

    /// Python pushes a delayed task, two NORMAL ones and then a HIGH one, before any worker
    /// runs; the Swift worker must take HIGH first, then the NORMAL ones in order, and the
    /// delayed one last and not before its consumable_from.
    func testDelayedAndHighPriorityFromPythonToSwift() throws {
        let queue = "interop_scheduling", compressor = "zlib"
        let connection = pythonConnection(queue: queue, compressor: compressor)
        func push(_ name: String, _ extra: [String] = []) throws -> Value {
            let file = try write([PythonValue.dict(["name": .str(name)]).typedJSON], to: "\(name).jsonl")
            let report = path("\(name).report")
            try runPython("producer.py", connection + ["--kwargs-file", file, "--report", report] + extra)
            return try Value(json: String(contentsOfFile: report, encoding: .utf8))
        }
        let delayed = try push("delayed", ["--delay", String(Self.delay)])
        _ = try push("normal-1")
        _ = try push("normal-2")
        _ = try push("high", ["--priority", "HIGH"])
        let consumableFrom = try XCTUnwrap(delayed["consumable_from"]?.doubleValue, "\(delayed)")
        XCTAssertEqual(try server.command("ZCARD", "\(queue).delayed"), ":1", "the delayed task waits in the sorted set")

        let output = path("swift.records")
        let host = try startHost("Worker", environment: swiftEnvironment(queue: queue, compressor: compressor, output: output))
        _ = try waitForLines(output, count: 4, timeout: 60, "tasks at the Swift worker", process: host)
        let records = try swiftRecords(output)
        XCTAssertEqual(records.map { $0["kwargs"]?["name"]?.stringValue ?? "?" }, ["high", "normal-1", "normal-2", "delayed"])
        let received = try XCTUnwrap(records.last?["received"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(received, consumableFrom, "the delayed task ran before its consumable_from")
        XCTAssertLessThan(received, consumableFrom + 15, "the delayed task was not consumed soon after its time")
        stop(host)
    }

    /// `sergeant push` pushes a delayed task, two NORMAL ones and a HIGH one; a Python worker
    /// must take them in the same order, the delayed one not before its time.
    func testDelayedAndHighPriorityFromSwiftToPython() throws {
        let queue = "interop_scheduling", compressor = "bzip2"
        let environment = swiftEnvironment(queue: queue, compressor: compressor)
        try swiftPush(kwargs: [#"{"name": "delayed"}"#], environment: environment, extra: ["--delay", String(Self.delay)])
        try swiftPush(kwargs: [#"{"name": "normal-1"}"#, #"{"name": "normal-2"}"#], environment: environment)
        try swiftPush(kwargs: [#"{"name": "high"}"#], environment: environment, extra: ["--priority", "HIGH"])
        XCTAssertEqual(try server.command("ZCARD", "\(queue).delayed"), ":1", "the delayed task waits in the sorted set")

        let output = path("python.records")
        try runPython("worker.py", pythonConnection(queue: queue, compressor: compressor) + ["--tasks", "4", "--output", output])
        let records = try pythonRecords(output)
        let names = try records.map { record -> String in
            guard case .dict(let pairs) = try pythonKwargs(record), case .str(let name)? = pairs.first?.value else { return "?" }
            return name
        }
        XCTAssertEqual(names, ["high", "normal-1", "normal-2", "delayed"])
        // `sergeant push --delay` sets consumable_from to the task's date plus the delay.
        let delayed = try XCTUnwrap(records.last)
        let date = try XCTUnwrap(delayed["date"]?.doubleValue)
        let received = try XCTUnwrap(delayed["received"]?.doubleValue)
        XCTAssertGreaterThanOrEqual(received, date + Self.delay, "the delayed task ran before its consumable_from")
        XCTAssertLessThan(received, date + Self.delay + 15, "the delayed task was not consumed soon after its time")
    }

    /// The Python worker's bulk pop (tasks_per_transaction > 1: LPOP with a count, then
    /// sergeant's Lua script for due delayed tasks) reads delayed tasks the Swift worker
    /// pushed with pushTask.
    func testSwiftDelayedTasksThroughPythonBulkPop() throws {
        let queue = "interop_bulk", compressor = "gzip"
        let kwargs = (0..<3).map { PythonValue.dict(["index": .int(Int64($0))]) }
        let pushFile = try write(kwargs.map { hex(MessagePack.encode($0.wireValue)) }, to: "push.hex")
        let producerOutput = path("producer.records")
        let producer = try startHost("Producer", environment: swiftEnvironment(
            queue: queue, compressor: compressor, output: producerOutput,
            extra: ["INTEROP_PUSH_FILE": pushFile, "INTEROP_PUSH_DELAY": "2", "INTEROP_PUSH_BULK": "1"]))
        XCTAssertEqual(producer.wait(timeout: 60), 0, producer.output)
        let consumableFrom = try XCTUnwrap(try swiftRecords(producerOutput).first?["consumable_from"]?.doubleValue)
        XCTAssertEqual(try server.command("ZCARD", "\(queue).delayed"), ":3")

        let output = path("python.records")
        try runPython("worker.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--tasks", "3", "--tasks-per-transaction", "5", "--output", output])
        let records = try pythonRecords(output)
        XCTAssertEqual(Set(try records.map { try pythonKwargs($0) }), Set(kwargs))
        for record in records {
            XCTAssertGreaterThanOrEqual(try XCTUnwrap(record["received"]?.doubleValue), consumableFrom)
        }
    }
}
