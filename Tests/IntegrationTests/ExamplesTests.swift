import SergeantTestSupport
import XCTest

/// Each Swift twin of Python sergeant's examples, run through the real sergeant-host, the
/// real plugin and a real redis-server, asserting what a user would see.
final class ExamplesTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    // MARK: Helpers

    func push(_ example: String, _ kwargs: [String], workerClass: String = "Worker", extra: [String] = []) throws {
        let plugin = try ProjectPaths.plugin(example)
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                           "--worker-class=\(workerClass)", "--purge"] + kwargs.flatMap { ["--kwargs", $0] } + extra,
                                          environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(result.code, 0, result.output)
    }

    func host(_ example: String, _ workerClass: String = "Worker", workers: Int = 1) throws -> ChildProcess {
        try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(try ProjectPaths.plugin(example))",
                          "--worker-class=\(workerClass)", "--concurrent-workers=\(workers)"],
                         environment: ["SERGEANT_REDIS": server.url])
    }

    func lines(_ process: ChildProcess, containing text: String) -> [Substring] {
        process.output.split(separator: "\n").filter { $0.contains(text) }
    }

    func stop(_ process: ChildProcess) {
        process.signal(SIGTERM)
        XCTAssertEqual(process.wait(timeout: 30), 0, process.output)
    }

    // MARK: Examples

    func testExample2MultipleConsumersShareTheWork() throws {
        try push("multiple_consumers", ["one", "two", "three", "four"].map { #"{"some_parameter": "\#($0)"}"# })
        let supervisor = try host("multiple_consumers", workers: 2)
        try waitUntil(timeout: 60, "four tasks and a respawn") {
            self.lines(supervisor, containing: " task from ").count >= 4
                && supervisor.output.contains("has finished its run; respawning")
        }
        stop(supervisor)
        let done = lines(supervisor, containing: " task from ")
        XCTAssertEqual(Set(done.map { $0.split(separator: " ")[5] }), ["one", "two", "three", "four"])
        // max_tasks_per_run 2: at least two processes did the work, and finished workers were replaced.
        XCTAssertGreaterThanOrEqual(Set(done.map { $0.split(separator: " ").last! }).count, 2, supervisor.output)
    }

    func testExample3ConsumerAFeedsConsumerB() throws {
        try push("mixed_producer_consumer", [#"{"some_parameter": "task from producer"}"#], workerClass: "ConsumerA")
        let a = try host("mixed_producer_consumer", "ConsumerA")
        let b = try host("mixed_producer_consumer", "ConsumerB")
        try waitUntil(timeout: 60, "consumer_b to hear from consumer_a") {
            b.output.contains("I am consumer_b. Got parameter: hello from consumer a")
        }
        XCTAssertTrue(a.output.contains("I am consumer_a. Got parameter: task from producer"), a.output)
        stop(a)
        stop(b)
    }

    func testExample4TimeoutCooperativeAndEnforced() throws {
        try push("timeout", [#"{"timeout": false}"#, #"{"timeout": true}"#, #"{"timeout": true, "cooperative": false}"#])
        let supervisor = try host("timeout")
        try waitUntil(timeout: 60, "both timeouts") { self.lines(supervisor, containing: "task has timedout").count >= 2 }
        stop(supervisor)
        let output = supervisor.output
        XCTAssertTrue(output.contains("Not going to timeout"), output)
        XCTAssertEqual(lines(supervisor, containing: "Going to timeout").count, 2, output)
        XCTAssertFalse(output.contains("You won't see this print"), output)
        // The task that ignored its timeout ended its worker, which was replaced.
        XCTAssertTrue(output.contains("ended itself over a task past its timeout"), output)
        XCTAssertEqual(try server.command("LLEN", "test_worker.timedout"), ":0", "the next worker took the timed out task")
    }

    func testExample5RetriesUntilMaxRetries() throws {
        try push("max_retries", [#"{}"#])
        let supervisor = try host("max_retries")
        try waitUntil(timeout: 60, "max retries") { supervisor.output.contains("on_max_retries: gave up after 3 retries") }
        stop(supervisor)
        for runCount in 0...3 {
            XCTAssertTrue(supervisor.output.contains("Going to retry (run_count \(runCount))"), supervisor.output)
        }
        XCTAssertEqual(lines(supervisor, containing: "task has retried").count, 3, supervisor.output)
        XCTAssertEqual(lines(supervisor, containing: "task has reached max retries").count, 1, supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":0", "nothing is retried after max retries")
    }

    func testExample6TenTasksRunOnTenThreadsAtOnce() throws {
        try push("multithreaded", [#"{}"#], extra: ["--count", "10"])
        let supervisor = try host("multithreaded")
        try waitUntil(timeout: 60, "ten tasks") { supervisor.output.contains("tasks=10") }
        stop(supervisor)
        let threads = Set(lines(supervisor, containing: "Hello from thread_id").map { $0.split(separator: " ").last! })
        XCTAssertEqual(threads.count, 10, supervisor.output)
        // Ten one-second tasks on ten threads take about one second, not ten.
        let summary = try XCTUnwrap(lines(supervisor, containing: "tasks=10").first)
        let wall = try XCTUnwrap(summary.split(separator: " ").first { $0.hasPrefix("wall_time=") })
        XCTAssertLessThan(Double(wall.dropFirst("wall_time=".count).dropLast())!, 5, String(summary))
    }

    func testExample7DelayedTaskWaitsItsTime() throws {
        try push("delayed_task", [#"{"type": "start"}"#])
        let supervisor = try host("delayed_task")
        try waitUntil(timeout: 60, "the delayed task") { supervisor.output.contains("type: delayed") }
        stop(supervisor)
        let start = try XCTUnwrap(lines(supervisor, containing: "type: start").first)
        let delayed = try XCTUnwrap(lines(supervisor, containing: "type: delayed").first)
        XCTAssertGreaterThanOrEqual(try seconds(delayed) - (try seconds(start)), 4, supervisor.output)
    }

    func testExample8StopEndsEveryWorker() throws {
        try push("stop", [#"{"param": "first"}"#, #"{"param": "second"}"#, #"{"param": "third"}"#])
        let supervisor = try host("stop", workers: 2)
        XCTAssertEqual(supervisor.wait(timeout: 60), 0, "the supervisor stops by itself: \(supervisor.output)")
        let output = supervisor.output
        XCTAssertTrue(output.contains("param: first, asking for a stop"), output)
        XCTAssertTrue(output.contains("asked to stop; stopping every worker"), output)
        XCTAssertTrue(output.contains("supervisor has stopped"), output)
        XCTAssertFalse(output.contains("spawned worker") && lines(supervisor, containing: "spawned worker").count > 2, output)
    }

    func testExample9HangingThreadsDoNotKeepAWorkerAlive() throws {
        try push("hanging_threads", [#"{"param": "first"}"#, #"{"param": "second"}"#])
        let supervisor = try host("hanging_threads")
        do {
            try waitUntil(timeout: 60, "two finished runs") {
                self.lines(supervisor, containing: "has finished its run; respawning").count >= 2
            }
        } catch {
            XCTFail("\(error):\n\(supervisor.output)")
            throw error
        }
        let firstWorker = try XCTUnwrap(lines(supervisor, containing: "param: first").first?.split(separator: " ")[3])
        stop(supervisor)
        XCTAssertNotEqual(kill(pid_t(firstWorker)!, 0), 0, "the worker with hanging threads is gone")
    }

    /// Seconds since midnight of a log line's time stamp.
    func seconds(_ line: Substring) throws -> Double {
        let time = line.split(separator: " ")[1].split(separator: ":").compactMap { Double($0) }
        guard time.count == 3 else { throw SupportError("no time in \(line)") }
        return time[0] * 3600 + time[1] * 60 + time[2]
    }
}
