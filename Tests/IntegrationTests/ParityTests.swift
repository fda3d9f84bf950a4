import Foundation
import SergeantTestSupport
import XCTest

/// The parity list with Python sergeant, line by line, through the real host, the `parity`
/// fixture plugin (Tests/Fixtures/parity) and a real redis-server.
final class ParityTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    /// Pushes tasks (JSON kwargs), runs a supervisor until `until` holds, stops it, returns its output.
    @discardableResult
    func run(_ kwargs: [String], pushFlags: [String] = [], hostFlags: [String] = [], environment: [String: String] = [:],
             until: @escaping (String) -> Bool) throws -> String {
        let plugin = try ProjectPaths.fixturePackage("parity")
        var env = environment
        if env["PARITY_LOCAL_FILE"] == nil { env["SERGEANT_REDIS"] = server.url }
        if !kwargs.isEmpty {
            let push = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                             "--worker-class=Parity", "--purge"] + kwargs.flatMap { ["--kwargs", $0] } + pushFlags,
                                            environment: env)
            XCTAssertEqual(push.code, 0, push.output)
        }
        let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                     "--worker-class=Parity"] + hostFlags, environment: env)
        do {
            try waitUntil(timeout: 60, "the expected output") { until(host.output) }
        } catch {
            XCTFail("\(error)\n\(host.output)")
            throw error
        }
        host.signal(SIGTERM)
        XCTAssertEqual(host.wait(timeout: 30), 0, host.output)
        return host.output
    }

    func lines(_ output: String, _ prefix: String) -> [String] {
        output.split(separator: "\n").compactMap { line in
            line.range(of: prefix).map { String(line[$0.lowerBound...]) }
        }
    }

    // MARK: Handlers

    func testSuccessRunsTheHandlersInSergeantsOrder() throws {
        let output = try run([#"{"action": "return"}"#]) { $0.contains("handler: on_success") }
        XCTAssertEqual(lines(output, "handler: ").prefix(4), [
            "handler: initialize", "handler: pre_work", "handler: post_work success=true failure=none",
            "handler: on_success returned={'answer': 42}",
        ])
        XCTAssertTrue(output.contains("task has finished successfully"), "logging.events.on_success is honoured")
        XCTAssertTrue(output.contains("handler: finalize"), output)
    }

    func testFailureAndAFailingHandlerAreLoggedAndTheWorkerGoesOn() throws {
        let output = try run([#"{"action": "fail"}"#, #"{"action": "return"}"#]) { $0.contains("handler: on_success") }
        XCTAssertTrue(output.contains("handler: post_work success=false failure=failed on purpose"), output)
        XCTAssertTrue(output.contains("ERROR    task has failed: failed on purpose"), output)
        XCTAssertTrue(output.contains("handler: on_failure failed on purpose"), output)
        XCTAssertTrue(output.contains("on_failure handler has failed: the handler failed too"), output)
    }

    func testTheFailureOfAnErrorWithOneMessageIsThatMessage() throws {
        let output = try run([#"{"action": "fail_plain"}"#]) { $0.contains("handler: on_failure") }
        XCTAssertTrue(output.contains("handler: post_work success=false failure=a plain failure"), output)
        XCTAssertTrue(output.contains("handler: on_failure a plain failure"), output)
    }

    func testOnFailureThatRetriesIsARetryUntilMaxRetries() throws {
        let output = try run([#"{"action": "fail_then_retry"}"#]) { $0.contains("handler: on_max_retries") }
        XCTAssertEqual(lines(output, "work: fail_then_retry").count, 3, "run_count 0, 1, 2 with max_retries 2: \(output)")
        XCTAssertEqual(lines(output, "handler: on_retry"), ["handler: on_retry run_count=1", "handler: on_retry run_count=2"], "on_retry sees the task as pushed again, as in Python")
        XCTAssertEqual(lines(output, "handler: on_max_retries"), ["handler: on_max_retries run_count=2"])
        XCTAssertEqual(try server.command("LLEN", "parity"), ":0")
    }

    func testRetryFromWorkAndRequeue() throws {
        let output = try run([#"{"action": "retry"}"#, #"{"action": "requeue_once"}"#]) {
            $0.contains("handler: on_max_retries") && $0.contains("handler: on_requeue") && $0.contains("work: noop")
        }
        XCTAssertEqual(lines(output, "task has retried").count, 2, output)
        XCTAssertTrue(output.contains("task has requeued"), output)
    }

    func testTraceIDIsInheritedByTasksPushedFromWork() throws {
        let output = try run([#"{"action": "push_child"}"#], pushFlags: ["--trace-id", "trace-77"]) { $0.contains("work: child") }
        XCTAssertTrue(output.contains("work: push_child run_count=0 trace_id=trace-77"), output)
        XCTAssertTrue(output.contains("work: child run_count=0 trace_id=trace-77"), output)
    }

    // MARK: Broker API from inside a worker

    func testLocksKeysAndQueueCallsRunOnTheHost() throws {
        let output = try run([#"{"action": "lock"}"#, #"{"action": "keys"}"#, #"{"action": "queue_api"}"#]) {
            $0.contains("queue: after purge")
        }
        for expected in [
            "lock: acquired=true second acquire=false", "lock: locked=true ttl=30", "lock: set_ttl=true ttl=5",
            "lock: released=true locked=false ttl=nil",
            "keys: new=true again=false", "keys: get=[1, 'two']", "keys: deleted=true get=nil",
            "queue: count=2 with_delayed=3", #"queue: got=["1", "2"]"#, "queue: after purge=0",
        ] {
            XCTAssertTrue(output.contains(expected), "'\(expected)' missing:\n\(output)")
        }
    }

    func testTimeoutThatIsIgnoredEndsTheWorkerAndOnTimeoutRunsInTheNext() throws {
        let output = try run([#"{"action": "hang"}"#, #"{"action": "return"}"#], environment: ["PARITY_TIMEOUT": "0.5"]) {
            $0.contains("handler: on_timeout") && $0.contains("handler: on_success")
        }
        XCTAssertTrue(output.contains("ended itself over a task past its timeout"), output)
        XCTAssertEqual(try server.command("LLEN", "parity.timedout"), ":0")
    }

    func testLocalConnectorRunsTheSameWorkerWithoutRedis() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("parity-\(UUID().uuidString).sqlite3").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        let output = try run([#"{"action": "keys"}"#, #"{"action": "lock"}"#, #"{"action": "return"}"#],
                             environment: ["PARITY_LOCAL_FILE": file]) { $0.contains("returned={'answer': 42}") }
        for expected in ["keys: new=true again=false", "lock: acquired=true second acquire=false", "handler: on_success returned={'answer': 42}"] {
            XCTAssertTrue(output.contains(expected), "'\(expected)' missing:\n\(output)")
        }
        XCTAssertEqual(try server.command("DBSIZE"), ":0", "nothing went to Redis")
        // at_least_once (the default) holds on the local connector: no at-most-once warning.
        XCTAssertFalse(output.contains("keeps no in-flight records"), output)
    }

    // MARK: Supervisor and executors

    func testStarvationCallsOnStarvation() throws {
        let output = try run([], environment: ["PARITY_STARVATION": "1"]) { $0.contains("handler: on_starvation") }
        XCTAssertTrue(output.contains("WARNING  worker is starving"), output)
        XCTAssertTrue(output.contains("handler: on_starvation after 1 s"), output)
    }

    func testRespawnReplacesTheWorker() throws {
        let output = try run([#"{"action": "respawn"}"#]) { $0.contains("asked to respawn") && $0.components(separatedBy: "spawned worker").count > 2 }
        XCTAssertTrue(output.contains("end=respawn"), output)
    }

    func testMemoryLimitReplacesTheWorker() throws {
        let output = try run([#"{"action": "memory"}"#], hostFlags: ["--max-worker-memory-usage=100000000"]) {
            $0.contains("over the limit of 100000000; replacing it") && $0.components(separatedBy: "spawned worker").count > 2
        }
        XCTAssertFalse(output.contains("stopping every worker"), "a replaced worker does not stop the others: \(output)")
    }

    func testThreadedExecutorKeepsOtherTasksGoingWhenOneFails() throws {
        let output = try run([#"{"action": "fail"}"#, #"{"action": "return"}"#, #"{"action": "return"}"#, #"{"action": "return"}"#],
                             environment: ["PARITY_THREADS": "4"]) { $0.components(separatedBy: "handler: on_success").count > 3 }
        XCTAssertEqual(lines(output, "handler: on_failure").count, 1, output)
    }
}
