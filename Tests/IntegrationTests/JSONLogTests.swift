import Foundation
import SergeantTestSupport
import XCTest

/// `sergeant-host --log-format json`: every line of the supervisor and of its workers is one
/// JSON object with time, level, logger, pid and message, and swift-log metadata as fields;
/// a worker's lines logged while a task runs carry the task's trace id.
final class JSONLogTests: XCTestCase {
    func testEveryLineIsAJSONObjectWithTheMetadata() throws {
        let server = try RedisServer()
        let plugin = try ProjectPaths.fixturePackage("parity")
        let push = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                         "--worker-class=ABIProbe", "--kwargs", #"{"n": 7}"#, "--trace-id", "order-9"], environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(push.code, 0, push.output)
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                           "--worker-class=ABIProbe", "--log-format", "json"], environment: ["SERGEANT_REDIS": server.url])
        try waitUntil(timeout: 30, "the task") { supervisor.output.contains("abi probe: working") }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        let objects = try supervisor.output.split(separator: "\n").map { line -> [String: Any] in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return try XCTUnwrap(object, "not a JSON object: \(line)")
        }
        XCTAssertGreaterThan(objects.count, 3)
        for object in objects {
            for key in ["time", "level", "logger", "pid", "message"] { XCTAssertNotNil(object[key], "\(key) missing in \(object)") }
            XCTAssertTrue((object["time"] as? String)?.hasSuffix("Z") ?? false, "\(object)")
        }
        XCTAssertTrue(objects.contains { $0["logger"] as? String == "supervisor" && ($0["message"] as? String)?.hasPrefix("spawned worker") == true })
        let work = try XCTUnwrap(objects.first { $0["message"] as? String == "abi probe: working" }, supervisor.output)
        XCTAssertEqual(work["n"] as? String, "7", "swift-log metadata becomes a field: \(work)")
        XCTAssertEqual(work["phase"] as? String, "work", "\(work)")
        XCTAssertEqual(work["level"] as? String, "info")
        XCTAssertEqual(work["trace_id"] as? String, "order-9", "a line logged while the task runs names its trace id: \(work)")
        let spawned = try XCTUnwrap(objects.first { ($0["message"] as? String)?.hasPrefix("spawned worker") == true })
        XCTAssertNil(spawned["trace_id"], "the supervisor runs no task: \(spawned)")
    }

    func testAnUnknownFormatIsRefused() throws {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant-host"), "--worker-module=x.so", "--worker-class=W",
                                           "--log-format", "xml"])
        XCTAssertEqual(result.code, 64, result.output)
        XCTAssertTrue(result.output.contains("--log-format must be sergeant or json"), result.output)
    }
}
