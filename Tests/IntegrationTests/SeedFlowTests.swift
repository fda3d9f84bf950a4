import SergeantTestSupport
import XCTest

/// The seed's producer -> supervisor -> worker flow through the real executables, the real
/// plugin .so and a real redis-server.
final class SeedFlowTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func sergeant(_ arguments: String...) throws -> (code: Int32, output: String) {
        try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments, environment: ["SERGEANT_REDIS": server.url])
    }

    func host(module: String, workerClass: String, _ extra: [String] = []) throws -> ChildProcess {
        try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(module)",
                          "--worker-class=\(workerClass)"] + extra,
                         environment: ["SERGEANT_REDIS": server.url])
    }

    func testSeedProducerHostWorker() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let push = try sergeant("push", "--worker-module=\(plugin)", "--worker-class=Worker",
                                "--kwargs", #"{"some_parameter": "one"}"#, "--purge")
        XCTAssertEqual(push.code, 0, push.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":1", "the task is in the queue the plugin names")

        let supervisor = try host(module: plugin, workerClass: "Worker", ["--concurrent-worker=1"])
        try waitUntil(timeout: 30, "the worker to log the task") {
            supervisor.output.contains("task parameters are: {'some_parameter': 'one'}")
        }
        let line = try XCTUnwrap(supervisor.output.split(separator: "\n").first { $0.contains("task parameters are") })
        XCTAssertNotNil(line.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d test_worker  \d+ INFO     "#, options: .regularExpression),
                        "sergeant's log shape: \(line)")
        // The last line: warnings about the test's redis-server (it persists nothing) come before it.
        XCTAssertEqual(try sergeant("count", "--worker-module=\(plugin)", "--worker-class=Worker").output
            .split(separator: "\n").last, "0")

        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertTrue(supervisor.output.contains("supervisor has stopped"), supervisor.output)
    }

    func testConcurrentWorkersShareTheQueueAndEndOfLifeRespawns() throws {
        let plugin = try ProjectPaths.fixture("libc_worker.so")
        // The C worker runs one task per process (max_tasks_per_run 1): six tasks, six processes.
        let push = try sergeant("push", "--worker-module=\(plugin)", "--worker-class=CWorker", "--kwargs", #"{"n": 1}"#, "--count", "6")
        XCTAssertEqual(push.code, 0, push.output)
        let supervisor = try host(module: plugin, workerClass: "CWorker", ["--concurrent-workers", "2"])
        try waitUntil(timeout: 60, "six tasks to be worked and five workers replaced") {
            supervisor.output.components(separatedBy: "C worker got a task").count - 1 >= 6
                && supervisor.output.components(separatedBy: "has finished its run; respawning").count - 1 >= 5
        }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0)
        let output = supervisor.output
        XCTAssertGreaterThanOrEqual(output.components(separatedBy: "has finished its run; respawning").count - 1, 5, output)
        let workers = Set(output.split(separator: "\n").filter { $0.contains("C worker got a task") }.map { $0.split(separator: " ")[3] })
        XCTAssertEqual(workers.count, 6, "each task ran in its own process: \(output)")
        XCTAssertEqual(try server.command("LLEN", "c_worker"), ":0")
    }

    func testFailingTaskIsLoggedAndTheWorkerGoesOn() throws {
        let plugin = try ProjectPaths.fixture("libc_worker.so")
        _ = try sergeant("push", "--worker-module=\(plugin)", "--worker-class=CWorker", "--kwargs", #"{"please": "fail"}"#,
                         "--kwargs", #"{"n": 2}"#)
        let supervisor = try host(module: plugin, workerClass: "CWorker")
        try waitUntil(timeout: 60, "both tasks") { supervisor.output.components(separatedBy: "C worker got a task").count - 1 >= 2 }
        supervisor.signal(SIGTERM)
        supervisor.wait(timeout: 30)
        XCTAssertTrue(supervisor.output.contains("task has failed: the C worker was asked to fail"), supervisor.output)
    }

    // MARK: Bad plugins and flags end the supervisor with the reason

    func assertHostFails(module: String, workerClass: String = "Worker", code: Int32, mentioning words: [String],
                         file: StaticString = #filePath, line: UInt = #line) throws {
        let supervisor = try host(module: module, workerClass: workerClass)
        XCTAssertEqual(supervisor.wait(timeout: 60), code, supervisor.output, file: file, line: line)
        for word in words {
            XCTAssertTrue(supervisor.output.contains(word), "'\(word)' missing from:\n\(supervisor.output)", file: file, line: line)
        }
    }

    func testUnknownClassListsTheExportedClasses() throws {
        try assertHostFails(module: try ProjectPaths.plugin("consumer"), workerClass: "Nope", code: 5,
                            mentioning: ["'Nope' not found", "it exports: Worker"])
    }

    func testMissingModule() throws {
        try assertHostFails(module: "/nonexistent/libconsumer.so", code: 3, mentioning: ["does not exist"])
    }

    func testFileThatIsNotAPlugin() throws {
        try assertHostFails(module: try ProjectPaths.fixture("not_a_plugin.so"), code: 4, mentioning: ["cannot be loaded"])
    }

    func testABIMismatchNamesBothVersions() throws {
        try assertHostFails(module: try ProjectPaths.fixture("libabi_v2.so"), code: 6, mentioning: ["ABI 2.0", "speaks 1.2"])
    }

    func testModuleWithoutFactory() throws {
        try assertHostFails(module: try ProjectPaths.fixture("libno_factory.so"), code: 4, mentioning: ["sergeant_worker_create"])
    }

    func testBadFlagsAreRefused() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        for (flags, word) in [(["--concurrent-workers=0"], "at least 1"), (["--max-worker-memory-usage=0"], "positive"),
                              (["--redis=http://x"], "redis URL")] {
            let result = try ChildProcess.run([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                               "--worker-class=Worker"] + flags)
            XCTAssertEqual(result.code, 64, result.output)
            XCTAssertTrue(result.output.contains(word), result.output)
        }
    }

    func testProducerReportsADeadRedis() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        server.stop()
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "count", "--worker-module=\(plugin)",
                                           "--worker-class=Worker"],
                                          environment: ["SERGEANT_REDIS": server.url, "SERGEANT_RECONNECT_TIMEOUT": "0.5"])
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertTrue(result.output.contains("unreachable"), result.output)
    }
}
