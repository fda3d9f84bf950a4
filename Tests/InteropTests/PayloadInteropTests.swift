import SergeantCore
import SergeantTestSupport
import XCTest

/// Tasks carrying every kind of value go from Python sergeant's producer to a Swift worker
/// (and back to a Python worker), and from the Swift side to a Python worker, for each
/// compressor, with the msgpack serializer.
final class PayloadInteropTests: InteropTestCase {
    // MARK: Python -> Swift -> Python

    func testPythonToSwiftToPythonUncompressed() throws { try pythonToSwiftToPython(compressor: "none") }
    func testPythonToSwiftToPythonZlib() throws { try pythonToSwiftToPython(compressor: "zlib") }
    func testPythonToSwiftToPythonGzip() throws { try pythonToSwiftToPython(compressor: "gzip") }
    func testPythonToSwiftToPythonBzip2() throws { try pythonToSwiftToPython(compressor: "bzip2") }
    func testPythonToSwiftToPythonLzma() throws { try pythonToSwiftToPython(compressor: "lzma") }

    /// Python's producer pushes the payload; the Swift worker must see exactly sergeant's wire
    /// values (tuples and datetimes as their marker maps), with the trace id; it forwards the
    /// kwargs to a second queue, where a Python worker must get back values equal to the ones
    /// sent, tuples and datetimes included.
    func pythonToSwiftToPython(compressor: String) throws {
        let queue = "interop_payload", back = "interop_payload_back", traceID = "python-trace-\(compressor)"
        let payload = PythonValue.payload
        let kwargsFile = try write([payload.typedJSON], to: "kwargs.jsonl")
        let report = path("producer.json")
        let before = unixTime()
        try runPython("producer.py", pythonConnection(queue: queue, compressor: compressor)
            + ["--kwargs-file", kwargsFile, "--trace-id", traceID, "--report", report])

        // sergeant's own serializer bytes for this task (date 0.0) are what SergeantCore writes.
        let reference = try Value(json: String(contentsOfFile: report, encoding: .utf8))
        let referenceHex = try XCTUnwrap(reference["references"]?[0]?.stringValue, "\(reference)")
        let swiftBytes = SergeantTask(kwargs: try XCTUnwrap(payload.wireValue.mapValue), traceID: traceID, date: 0, runCount: 0).messagePack()
        XCTAssertEqual(hex(swiftBytes), referenceHex, "Swift's msgpack of the task differs from Python sergeant's")

        let output = path("swift.records")
        let host = try startHost("Worker", environment: swiftEnvironment(queue: queue, compressor: compressor, output: output,
                                                                         extra: ["INTEROP_FORWARD": back]))
        _ = try waitForLines(output, count: 1, "task at the Swift worker", process: host)
        let record = try XCTUnwrap(try swiftRecords(output).first)
        let kwargs = try XCTUnwrap(record["kwargs"])
        XCTAssertEqual(kwargs, payload.wireValue)
        XCTAssertEqual(MessagePack.encode(kwargs), MessagePack.encode(payload.wireValue), "the values' msgpack bytes differ")
        // A few by name, as a worker author reads them.
        XCTAssertEqual(kwargs["uint64_max"], .uint(UInt64.max))
        XCTAssertEqual(kwargs["int64_min"], .int(Int64.min))
        XCTAssertEqual(kwargs["bytes"]?.bytesValue, [0x00, 0xff, 0x80, 0x7f, 0x0a])
        XCTAssertEqual(kwargs["tuple"]?.arrayValue?.count, 4, "sergeant's __tuple__ marker reads as an array")
        XCTAssertEqual(kwargs["datetime"]?.dateValue, 1_709_209_845.5, "sergeant's __datetime__ marker reads as a date")
        XCTAssertEqual(kwargs["unicode"]?.stringValue, "héllo wörld — 日本語 — Ελληνικά — 🚀👩‍💻")
        XCTAssertEqual(record["trace_id"], .string(traceID))
        XCTAssertEqual(record["run_count"], .int(0))
        let date = try XCTUnwrap(record["date"]?.doubleValue)
        XCTAssertTrue(date >= before - 1 && date <= unixTime() + 1, "task date \(date) is not the push time")
        XCTAssertEqual(try server.command("LLEN", "\(queue).dead"), ":0", "nothing was dead-lettered")

        let pythonOutput = path("python.records")
        try runPython("worker.py", pythonConnection(queue: back, compressor: compressor)
            + ["--tasks", "1", "--output", pythonOutput])
        let back1 = try XCTUnwrap(try pythonRecords(pythonOutput).first)
        XCTAssertEqual(try pythonKwargs(back1), payload, "the payload did not come back from Swift to Python equal")
        XCTAssertEqual(back1["trace_id"], .string(traceID), "the forwarded task keeps the trace id")
        XCTAssertEqual(back1["run_count"], .int(0))
        stop(host)
    }

    // MARK: Swift -> Python

    func testSwiftToPythonUncompressed() throws { try swiftToPython(compressor: "none") }
    func testSwiftToPythonZlib() throws { try swiftToPython(compressor: "zlib") }
    func testSwiftToPythonGzip() throws { try swiftToPython(compressor: "gzip") }
    func testSwiftToPythonBzip2() throws { try swiftToPython(compressor: "bzip2") }
    func testSwiftToPythonLzma() throws { try swiftToPython(compressor: "lzma") }

    /// A Swift worker pushes the payload (as sergeant's wire values) with pushTask, and
    /// `sergeant push` pushes JSON kwargs that use sergeant's markers; a Python worker must
    /// read both as the Python values, tuples and datetimes rebuilt.
    func swiftToPython(compressor: String) throws {
        let queue = "interop_from_swift", traceID = "swift-trace-\(compressor)"
        let payload = PythonValue.payload
        let pushFile = try write([hex(MessagePack.encode(payload.wireValue))], to: "push.hex")
        let producerOutput = path("producer.records")
        let environment = swiftEnvironment(queue: queue, compressor: compressor, output: producerOutput)
        let producer = try startHost("Producer", environment: environment.merging(
            ["INTEROP_PUSH_FILE": pushFile, "INTEROP_PUSH_TRACE_ID": traceID]) { $1 })
        XCTAssertEqual(producer.wait(timeout: 60), 0, "the Producer stops its supervisor: \(producer.output)")
        XCTAssertEqual(try swiftRecords(producerOutput).first?["pushed"], .int(1), producer.output)

        let cliKwargs = #"{"from": "sergeant push ✓", "n": -5, "big": 18446744073709551615, "f": 0.5, "#
            + #""list": [1, null, true], "tuple": {"__tuple__": [1, "a"]}, "when": {"__datetime__": 1709209845.5}}"#
        try swiftPush(kwargs: [cliKwargs], environment: environment, extra: ["--trace-id", "cli-\(compressor)"])

        let output = path("python.records")
        try runPython("worker.py", pythonConnection(queue: queue, compressor: compressor) + ["--tasks", "2", "--output", output])
        let records = try pythonRecords(output)
        XCTAssertEqual(records.count, 2)
        let first = try XCTUnwrap(records.first)
        XCTAssertEqual(try pythonKwargs(first), payload, "Python did not read the Swift worker's task as sent")
        XCTAssertEqual(first["trace_id"], .string(traceID))
        XCTAssertEqual(first["run_count"], .int(0))
        let second = try XCTUnwrap(records.last)
        XCTAssertEqual(try pythonKwargs(second), .dict([
            "from": .str("sergeant push ✓"), "n": .int(-5), "big": .uint(UInt64.max), "f": .float(0.5),
            "list": .list([.int(1), .none, .bool(true)]), "tuple": .tuple([.int(1), .str("a")]),
            "when": .datetime(1_709_209_845.5),
        ]))
        XCTAssertEqual(second["trace_id"], .string("cli-\(compressor)"))
    }
}
