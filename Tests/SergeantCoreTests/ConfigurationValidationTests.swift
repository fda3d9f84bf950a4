import XCTest
@testable import SergeantCore

/// WorkerConfig.validate(): each field's accepted range, at both ends.
final class ConfigurationValidationTests: XCTestCase {
    func fields(_ change: (inout WorkerConfig) -> Void) -> [String] {
        var config = WorkerConfig(name: "q")
        change(&config)
        do { try config.validate() } catch { return error.fields }
        return []
    }

    func testTheDefaultsAndTheEndsOfEachRangeAreAccepted() {
        XCTAssertEqual(fields { _ in }, [])
        XCTAssertEqual(fields {
            $0.name = String(repeating: "é", count: WorkerConfig.maximumNameLength / 2)
            $0.tasksPerTransaction = WorkerConfig.maximumTasksPerTransaction
            $0.numberOfThreads = WorkerConfig.maximumNumberOfThreads
            $0.maxTaskSize = WorkerConfig.maximumTaskSizeLimit
            $0.timeouts = Timeouts(timeout: WorkerConfig.maximumSeconds, gracePeriod: 0)
            $0.starvation = Starvation(timeWithNoTasks: 0.001)
            $0.connector = .redis(nodes: [RedisNode(host: "h", port: 65535, database: 15)])
        }, [])
    }

    func testEachFieldOutOfRangeIsNamed() {
        XCTAssertEqual(fields { $0.name = "" }, ["name"])
        XCTAssertEqual(fields { $0.name = String(repeating: "q", count: WorkerConfig.maximumNameLength + 1) }, ["name"])
        XCTAssertEqual(fields { $0.name = "a\nb" }, ["name"])
        XCTAssertEqual(fields { $0.tasksPerTransaction = 0 }, ["tasks_per_transaction"])
        XCTAssertEqual(fields { $0.tasksPerTransaction = WorkerConfig.maximumTasksPerTransaction + 1 }, ["tasks_per_transaction"])
        XCTAssertEqual(fields { $0.numberOfThreads = 0 }, ["number_of_threads"])
        XCTAssertEqual(fields { $0.maxTaskSize = 10 << 30 }, ["max_task_size"])
        XCTAssertEqual(fields { $0.maxTaskSize = -1 }, ["max_task_size"])
        XCTAssertEqual(fields { $0.maxTasksPerRun = -1 }, ["max_tasks_per_run"])
        XCTAssertEqual(fields { $0.maxRetries = -1 }, ["max_retries"])
        XCTAssertEqual(fields { $0.maxDeaths = -1 }, ["max_deaths"])
        XCTAssertEqual(fields { $0.timeouts.timeout = -0.5 }, ["timeouts.timeout"])
        XCTAssertEqual(fields { $0.timeouts.timeout = .infinity }, ["timeouts.timeout"])
        XCTAssertEqual(fields { $0.timeouts.gracePeriod = .nan }, ["timeouts.grace_period"])
        XCTAssertEqual(fields { $0.starvation = Starvation(timeWithNoTasks: 0) }, ["starvation.time_with_no_tasks"])
        XCTAssertEqual(fields { $0.connector = .redis(nodes: [RedisNode(host: "", port: 0, database: -1)]) },
                       ["connector.params.nodes[0].host", "connector.params.nodes[0].port", "connector.params.nodes[0].database"])
        XCTAssertEqual(fields { $0.connector = .local(filePath: "") }, ["connector.params.file_path"])
        // Several at once, in the document's order.
        XCTAssertEqual(fields { $0.name = ""; $0.tasksPerTransaction = 0; $0.timeouts.timeout = -1 },
                       ["name", "tasks_per_transaction", "timeouts.timeout"])
    }

    func testTheMessageSaysTheValueAndTheRange() {
        var config = WorkerConfig(name: String(repeating: "q", count: 100 * 1024))
        config.tasksPerTransaction = 0
        XCTAssertThrowsError(try config.validate()) { error in
            let message = "\(error)"
            XCTAssertTrue(message.contains("name is 102400 bytes long; accepted: 1 to 256 bytes"), message)
            XCTAssertTrue(message.contains("tasks_per_transaction is 0; accepted: 1 to 100000"), message)
            XCTAssertLessThan(message.count, 1000, "the name is not repeated back")
        }
    }
}
