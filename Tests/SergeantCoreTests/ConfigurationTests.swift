import Foundation
import XCTest
@testable import SergeantCore

final class ConfigurationTests: XCTestCase {
    func testMinimalJSONTakesSergeantsDefaults() throws {
        let config = try JSONDecoder().decode(WorkerConfig.self, from: Data(#"{"name": "w"}"#.utf8))
        XCTAssertEqual(config.connector.type, .local)
        XCTAssertEqual(config.tasksPerTransaction, 1)
        XCTAssertEqual(config.numberOfThreads, 1)
        XCTAssertEqual(config.timeouts.gracePeriod, 10)
        XCTAssertEqual(config.logging.level, .error)
        XCTAssertTrue(config.logging.events.onFailure)
        XCTAssertFalse(config.logging.events.onSuccess)
        XCTAssertNil(config.starvation)
    }

    func testSnakeCaseRoundTrip() throws {
        let config = WorkerConfig(name: "w", connector: .redis(nodes: [RedisNode(host: "h", port: 1, password: "p", database: 2)]),
                                  maxTasksPerRun: 5, maxRetries: 3, tasksPerTransaction: 10,
                                  encoder: EncoderConfig(compressor: .lzma), timeouts: Timeouts(timeout: 1.5, gracePeriod: 2),
                                  logging: LoggingConfig(level: .info, logToStdout: true), starvation: Starvation(timeWithNoTasks: 4))
        let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
        for key in ["max_tasks_per_run", "tasks_per_transaction", "log_to_stdout", "grace_period", "time_with_no_tasks", "\"lzma\""] {
            XCTAssertTrue(json.contains(key), "\(key) missing from \(json)")
        }
        XCTAssertEqual(try JSONDecoder().decode(WorkerConfig.self, from: Data(json.utf8)), config)
    }

    func testProblemsAreReported() {
        var config = WorkerConfig(name: "", connector: .redis(nodes: []))
        config.tasksPerTransaction = 0
        let problems = config.problems().joined(separator: "\n")
        XCTAssertTrue(problems.contains("name is empty"))
        XCTAssertTrue(problems.contains("tasks_per_transaction"))
        // A redis connector without nodes is the connector's own check (ConnectorRegistryTests).
    }

    func testRedisURLs() {
        XCTAssertEqual(RedisNode(url: "redis://127.0.0.1:6390/2"), RedisNode(host: "127.0.0.1", port: 6390, database: 2))
        XCTAssertEqual(RedisNode(url: "redis://:secret@h"), RedisNode(host: "h", port: 6379, password: "secret"))
        XCTAssertNil(RedisNode(url: "http://h"))
        XCTAssertNil(RedisNode(url: "redis://h:0"))
        XCTAssertNil(RedisNode(url: "redis://h/x"))
        XCTAssertFalse(RedisNode(url: "redis://:secret@h")!.description.contains("secret"))
    }

    func testJSONKeepsOrderAndTypes() throws {
        let value = try Value(json: #"{"b": 1, "a": [true, null, 1.5, "x\u00e9\ud83d\ude00"], "big": 18446744073709551615, "neg": -3}"#)
        XCTAssertEqual(value.mapValue?.keys, ["b", "a", "big", "neg"])
        XCTAssertEqual(value["a"], [true, nil, 1.5, "xé😀"])
        XCTAssertEqual(value["big"], .uint(UInt64.max))
        XCTAssertEqual(value["neg"], -3)
        for bad in ["", "{", "{\"a\" 1}", "[1,]x", "tru", "\"abc"] {
            XCTAssertThrowsError(try Value(json: bad), bad)
        }
    }

    func testLogLineHasSergeantsShape() {
        let line = SergeantLogHandler.format(name: "test_worker", level: .info, message: "task parameters are: {}")
        let pattern = #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d test_worker  \d+ INFO     task parameters are: \{\}\n$"#
        XCTAssertNotNil(line.range(of: pattern, options: .regularExpression), line)
    }
}

final class CodableBridgeTests: XCTestCase {
    struct Parameters: Codable, Equatable {
        let someParameter: String
        let count: Int
        let ratio: Double
        let tags: [String]
        let payload: Data
        let missing: String?
    }

    func testKwargsDecodeIntoACodableType() throws {
        let kwargs: ValueMap = ["some_parameter": "one", "count": 3, "ratio": 0.5, "tags": ["a", "b"], "payload": .bytes([0, 255])]
        let parameters = try kwargs.decode(Parameters.self, keyDecodingStrategy: .convertFromSnakeCase)
        XCTAssertEqual(parameters, Parameters(someParameter: "one", count: 3, ratio: 0.5, tags: ["a", "b"], payload: Data([0, 255]), missing: nil))
        XCTAssertThrowsError(try (["count": "three"] as ValueMap).decode(Parameters.self))
    }

    func testEncodableBecomesKwargs() throws {
        let value = try Value(encoding: Parameters(someParameter: "x\"y", count: 1, ratio: 1.5, tags: [], payload: Data(), missing: nil),
                              keyEncodingStrategy: .convertToSnakeCase)
        XCTAssertEqual(value["some_parameter"], "x\"y")
        XCTAssertEqual(value["count"], 1)
        XCTAssertEqual(try value.decode(Parameters.self, keyDecodingStrategy: .convertFromSnakeCase).someParameter, "x\"y")
    }
}
