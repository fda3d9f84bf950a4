import Foundation
import SergeantTestSupport
import XCTest

/// The async executor (max_concurrent_tasks) through the real host, the `async` fixture
/// plugin (Tests/Fixtures/async), the C fixture that completes from its own pthreads
/// (Tests/Fixtures/async_c_worker.c) and a real redis-server.
final class AsyncExecutorTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func push(_ plugin: String, _ workerClass: String, _ kwargs: [String]) throws {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                           "--worker-class=\(workerClass)"] + kwargs.flatMap { ["--kwargs", $0] },
                                          environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(result.code, 0, result.output)
    }

    func host(_ plugin: String, _ workerClass: String) throws -> ChildProcess {
        try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)", "--worker-class=\(workerClass)",
                          "--concurrent-workers", "1"], environment: ["SERGEANT_REDIS": server.url])
    }

    /// Tasks in every in-flight list of `queue` (worker ids are not known in advance).
    func inFlight(_ queue: String) throws -> Int {
        let reply = try server.command("EVAL", """
            local n = 0
            for _, key in ipairs(redis.call('KEYS', ARGV[1])) do
                if redis.call('TYPE', key)['ok'] == 'list' then n = n + redis.call('LLEN', key) end
            end
            return n
            """, "0", "\(queue).processing.*")
        return Int(reply.dropFirst()) ?? -1
    }

    func count(_ text: String, in output: String) -> Int {
        output.components(separatedBy: text).count - 1
    }

    func testTasksRunAtOnceAndEachIsAcknowledgedWhenItEnds() throws {
        let plugin = try ProjectPaths.fixturePackage("async")
        // One long task first, then short ones of different lengths: they end out of order.
        try push(plugin, "SleepWorker", [#"{"n": 0, "ms": 6000}"#] + (1...9).map { #"{"n": \#($0), "ms": \#(100 + ($0 % 3) * 150)}"# })
        let supervisor = try host(plugin, "SleepWorker")
        try waitUntil(timeout: 60, "the nine short tasks to finish") { count("finished n=", in: supervisor.output) >= 9 }
        // Each short task was acknowledged when it ended: only the long one is still in flight.
        XCTAssertEqual(try inFlight("async_sleep"), 1, supervisor.output)
        let peak = supervisor.output.split(separator: "\n").compactMap { line in
            line.range(of: "running=").map { Int(line[$0.upperBound...]) ?? 0 }
        }.max() ?? 0
        XCTAssertGreaterThanOrEqual(peak, 5, "tasks ran at once on Swift concurrency:\n\(supervisor.output)")
        let finished = supervisor.output.split(separator: "\n").filter { $0.contains("finished n=") }.map { $0.split(separator: "=").last! }
        XCTAssertNotEqual(finished, finished.sorted(), "completions come in the order tasks end, not the order they started")
        try waitUntil(timeout: 30, "the long task to finish") { count("finished n=", in: supervisor.output) >= 10 }
        try waitUntil(timeout: 10, "its acknowledgement") { try inFlight("async_sleep") == 0 }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertTrue(supervisor.output.contains("worker summary: tasks=10 success=10"), supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "async_sleep"), ":0")
    }

    func testTimeoutCancelsTheSwiftTaskAndRunsOnTimeout() throws {
        let plugin = try ProjectPaths.fixturePackage("async")
        try push(plugin, "TimeoutWorker", [#"{"mode": "cooperative"}"#])
        let supervisor = try host(plugin, "TimeoutWorker")
        try waitUntil(timeout: 30, "on_timeout") { supervisor.output.contains("on_timeout ran mode=cooperative") }
        let output = supervisor.output
        XCTAssertTrue(output.contains("cancellation handler ran"), "withTaskCancellationHandler saw it:\n\(output)")
        XCTAssertTrue(output.contains("saw CancellationError isCancelled=true"), "Task.sleep threw, Task.isCancelled:\n\(output)")
        XCTAssertTrue(output.contains("task has timedout"), output)
        XCTAssertFalse(output.contains("exceeded its timeout"), "a cooperative task does not end its process:\n\(output)")
        try waitUntil(timeout: 10, "its acknowledgement") { try inFlight("async_timeout") == 0 }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
    }

    func testTaskIgnoringCancellationEndsItsProcessAndOnTimeoutRunsInTheReplacement() throws {
        let plugin = try ProjectPaths.fixturePackage("async")
        try push(plugin, "TimeoutWorker", [#"{"mode": "ignore"}"#])
        let supervisor = try host(plugin, "TimeoutWorker")
        try waitUntil(timeout: 60, "on_timeout in the replacement") { supervisor.output.contains("on_timeout ran mode=ignore") }
        let output = supervisor.output
        XCTAssertTrue(output.contains("exceeded its timeout of 1.0 s plus the grace period of 2.0 s"), output)
        XCTAssertFalse(output.contains("the ignoring task ran to its end"), output)
        let pids = Set(output.split(separator: "\n").filter { $0.contains("started mode=ignore") || $0.contains("on_timeout ran") }
            .map { $0.split(separator: " ")[3] })
        XCTAssertEqual(pids.count, 2, "on_timeout ran in the process that replaced the killed one:\n\(output)")
        XCTAssertEqual(try server.command("LLEN", "async_timeout"), ":0", "the task is not run again")
        try waitUntil(timeout: 10, "no task in flight") { try inFlight("async_timeout") == 0 }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
    }

    func testSIGTERMGivesTheGracePeriodThenCancelsAndRunsOnStop() throws {
        let plugin = try ProjectPaths.fixturePackage("async")
        try push(plugin, "StopWorker", [#"{"n": 1, "ms": 600}"#, #"{"n": 2, "ms": 60000}"#, #"{"n": 3, "ms": 60000}"#,
                                        #"{"n": 4, "ms": 10}"#, #"{"n": 5, "ms": 10}"#])
        let supervisor = try host(plugin, "StopWorker")
        try waitUntil(timeout: 30, "three tasks to start") { count("started n=", in: supervisor.output) >= 3 }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        let output = supervisor.output
        XCTAssertTrue(output.contains("finished n=1"), "a task that ends within the grace period finishes:\n\(output)")
        XCTAssertTrue(output.contains("on_stop ran n=2") && output.contains("on_stop ran n=3"), output)
        XCTAssertFalse(output.contains("on_stop ran n=1"), output)
        XCTAssertFalse(output.contains("started n=4") || output.contains("started n=5"), output)
        XCTAssertEqual(try server.command("LLEN", "async_stop"), ":2", "tasks not started stay queued:\n\(output)")
        XCTAssertEqual(try inFlight("async_stop"), 0, output)
    }

    func testAsyncBrokerCallsLeaveTheCooperativePoolFree() throws {
        let plugin = try ProjectPaths.fixturePackage("async")
        XCTAssertEqual(try server.command("SET", "__lock__.held", "someone", "EX", "60"), "+OK")
        // Eight tasks wait for the lock for 8 s (more than the pool has threads on 8 cores),
        // then one awaits 100 ms: it can start and end early only if the waits hold no pool
        // thread; and the eight waits end together only if they wait side by side.
        try push(plugin, "BrokerWorker", Array(repeating: #"{"mode": "lock"}"#, count: 8) + [#"{"mode": "tick"}"#, #"{"mode": "push"}"#])
        let started = Date()
        let supervisor = try host(plugin, "BrokerWorker")
        try waitUntil(timeout: 30, "the tick") { supervisor.output.contains("tick done after") }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the tick waited for the lock calls:\n\(supervisor.output)")
        try waitUntil(timeout: 30, "the push") { supervisor.output.contains("pushed and set") }
        XCTAssertEqual(try server.command("LLEN", "async_side"), ":1")
        XCTAssertEqual(try server.command("EXISTS", "async_key"), ":1")
        try waitUntil(timeout: 60, "the lock waits to time out") { count("lock acquire returned false", in: supervisor.output) >= 8 }
        XCTAssertLessThan(Date().timeIntervalSince(started), 14, "the lock waits ran one after the other:\n\(supervisor.output)")
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
    }

    func testCPluginCompletesFromItsOwnThreadsAndIsCancelledAtItsTimeout() throws {
        let plugin = try ProjectPaths.fixture("libasync_c_worker.so")
        try push(plugin, "AsyncCWorker", Array(repeating: #"{"kind": "slow"}"#, count: 8) + [#"{"kind": "hang"}"#])
        let supervisor = try host(plugin, "AsyncCWorker")
        try waitUntil(timeout: 30, "eight tasks done and the hanging one cancelled") {
            count("async C task done", in: supervisor.output) >= 8 && supervisor.output.contains("async C on_timeout")
        }
        let output = supervisor.output
        let peak = output.split(separator: "\n").compactMap { line in
            line.range(of: "running=").map { Int(line[$0.upperBound...]) ?? 0 }
        }.max() ?? 0
        XCTAssertGreaterThanOrEqual(peak, 4, "the C plugin ran tasks at once:\n\(output)")
        XCTAssertTrue(output.contains("async C task cancelled"), output)
        XCTAssertFalse(output.contains("ran a task synchronously"), output)
        try waitUntil(timeout: 10, "no task in flight") { try inFlight("async_c_worker") == 0 }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertTrue(supervisor.output.contains("worker summary: tasks=9 success=8 timeout=1"), supervisor.output)
    }
}
