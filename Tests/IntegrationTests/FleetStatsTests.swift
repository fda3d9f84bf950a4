#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport
import XCTest

/// `sergeant stats` and the fleet counters, through real sergeant-host and worker processes.
final class FleetStatsTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func sergeant(_ arguments: [String]) throws -> (code: Int32, output: String) {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments,
                                          environment: ["SERGEANT_REDIS": server.url])
        return (result.code, result.output)
    }

    func push(_ plugin: String, _ kwargs: [String], extra: [String] = []) throws {
        let result = try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Parity"] + extra + kwargs.flatMap { ["--kwargs", $0] })
        XCTAssertEqual(result.code, 0, result.output)
    }

    /// `sergeant stats --json` as the shared type.
    func snapshot(_ extra: [String] = []) throws -> FleetSnapshot {
        let result = try sergeant(["stats", "--json"] + extra)
        XCTAssertEqual(result.code, 0, result.output)
        // The JSON object, without log lines the run may have printed around it.
        guard let start = result.output.firstIndex(of: "{"), let end = result.output.lastIndex(of: "}") else {
            throw SupportError("no JSON in: \(result.output)")
        }
        return try JSONDecoder().decode(FleetSnapshot.self, from: Data(result.output[start...end].utf8))
    }

    /// N tasks with a known mix of outcomes through 3 workers; the one running a marked task
    /// is SIGKILLed mid-run. The counters match what happened: every finished run counted once
    /// (the killed run is not, the marked task's run on another worker is), one recovered task.
    func testCountersAreExactThroughThreeWorkersWithOneKilled() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let successes = 30, failures = 10, retries = 5, requeues = 5
        var kwargs = (0..<successes).map { #"{"action": "tally", "ms": 20, "n": \#($0)}"# }
        kwargs += (0..<failures).map { _ in #"{"action": "fail_plain"}"# }
        kwargs += (0..<retries).map { _ in #"{"action": "retry"}"# }
        kwargs += (0..<requeues).map { _ in #"{"action": "requeue_once"}"# }
        try push(plugin, [#"{"action": "tally", "ms": 7000, "n": -1}"#], extra: ["--purge", "--trace-id", "victim"])
        try push(plugin, kwargs)
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                           "--worker-class=Parity", "--concurrent-workers=3"],
                                          environment: ["SERGEANT_REDIS": server.url])
        defer {
            supervisor.signal(SIGTERM)
            _ = supervisor.wait(timeout: 30)
        }
        // The worker running the marked task is found from its record (published every 5 s, so the
        // task runs 7 s), and killed.
        var victim: WorkerRecord?
        try waitUntil(timeout: 60, "a worker record running the marked task") {
            let workers = try snapshot(["--task-name", "parity"]).queues.first?.workers ?? []
            victim = workers.compactMap(\.record).first { $0.running?.traceID == "victim" }
            return victim != nil
        }
        let killed = try XCTUnwrap(victim)
        XCTAssertEqual(killed.executor, "serial")
        XCTAssertEqual(killed.queue, "parity")
        XCTAssertGreaterThan(killed.residentBytes, 0)
        XCTAssertEqual(kill(pid_t(killed.pid), SIGKILL), 0)

        // Runs: a retry task runs 3 times (2 retries, then max_retries with max_retries 2); a
        // requeue_once task 3 times (its requeue, then the two tasks it pushed, both succeed).
        let runs = successes + failures + 3 * retries + 3 * requeues + 1
        var final: QueueStats?
        try waitUntil(timeout: 90, "every run counted and the queue drained") {
            guard let stats = try snapshot(["--task-name", "parity"]).queues.first(where: { $0.name == "parity" }) else { return false }
            final = stats
            return (stats.totals?.processed ?? 0) >= runs && stats.waiting == 0 && stats.inFlightTotal == 0
        }
        let stats = try XCTUnwrap(final)
        let totals = try XCTUnwrap(stats.totals)
        XCTAssertEqual(totals.processed, runs, "\(totals)")
        XCTAssertEqual(totals.succeeded, successes + 2 * requeues + 1, "\(totals)")
        XCTAssertEqual(totals.failed, failures)
        XCTAssertEqual(totals.retried, 2 * retries)
        XCTAssertEqual(totals.maxRetries, retries)
        XCTAssertEqual(totals.requeued, requeues)
        XCTAssertEqual(totals.recovered, 1, "the killed worker's in-flight task")
        XCTAssertEqual(totals.deadLettered, 0)
        XCTAssertEqual(stats.lastMinute?.processed, runs, "all within the last minute")
        XCTAssertEqual(totals.durationBuckets.reduce(0, +), runs, "one duration per counted run")
        XCTAssertGreaterThan(totals.durationSeconds, 7, "the marked task's rerun alone took 7 s")
        // Three live workers (the killed one's record went with its recovery), none stale.
        let workers = try XCTUnwrap(stats.workers)
        XCTAssertEqual(workers.filter { $0.stale == nil }.count, 3, "\(workers)")
        XCTAssertFalse(workers.contains { $0.record?.pid == killed.pid }, "the dead worker's record is gone")

        // The table shows the same.
        let table = try sergeant(["stats", "--task-name", "parity"])
        XCTAssertEqual(table.code, 0, table.output)
        XCTAssertTrue(table.output.contains("queue parity"), table.output)
        XCTAssertNotNil(table.output.range(of: #"processed\s+\#(runs)\s"#, options: .regularExpression), table.output)
        XCTAssertNotNil(table.output.range(of: #"recovered\s+1\s"#, options: .regularExpression), table.output)
        XCTAssertEqual(table.output.components(separatedBy: " live").count - 1, 3, table.output)
    }

    /// `sergeant-host --metrics-port` serves its workers and the fleet's queues; a scrape shows
    /// the numbers, and promtool accepts the text.
    func testHostServesMetricsOfItsWorkersAndTheQueues() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        try push(plugin, (0..<6).map { #"{"action": "tally", "n": \#($0)}"# }, extra: ["--purge"])
        let port = try freePort()
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                           "--worker-class=Parity", "--concurrent-workers=2", "--metrics-port=\(port)"],
                                          environment: ["SERGEANT_REDIS": server.url])
        defer {
            supervisor.signal(SIGTERM)
            _ = supervisor.wait(timeout: 30)
        }
        func scrape() throws -> String {
            let result = try ChildProcess.run(["/usr/bin/curl", "-sf", "http://127.0.0.1:\(port)/metrics"])
            return result.code == 0 ? result.output : ""
        }
        var text = ""
        try waitUntil(timeout: 60, "the runs and both workers in the metrics") {
            text = try scrape()
            return text.contains(#"sergeant_task_runs_total{queue="parity",outcome="succeeded"} 6"#)
                && text.contains("sergeant_supervised_workers 2") && text.contains(#"sergeant_workers{queue="parity",state="live"} 2"#)
        }
        XCTAssertTrue(text.contains(#"sergeant_queue_waiting_tasks{queue="parity"} 0"#), text)
        XCTAssertTrue(text.contains(#"sergeant_task_duration_seconds_count{queue="parity"} 6"#), text)
        XCTAssertNotNil(text.range(of: #"sergeant_supervised_worker_resident_bytes\{pid="\d+"\} [1-9]"#, options: .regularExpression), text)
        // A worker killed: one restart.
        let pids = supervisor.output.split(separator: "\n").filter { $0.contains("spawned worker") }.compactMap { pid_t($0.split(separator: " ").last!) }
        XCTAssertEqual(kill(try XCTUnwrap(pids.first), SIGKILL), 0)
        try waitUntil(timeout: 30, "the restart in the metrics") {
            text = try scrape()
            return text.contains("sergeant_worker_restarts_total 1")
        }
        // Every client connection cut: the workers reconnect, and count it with their next runs.
        _ = try server.command("CLIENT", "KILL", "TYPE", "normal")
        try push(plugin, (0..<2).map { #"{"action": "tally", "n": \#(10 + $0)}"# })
        try waitUntil(timeout: 60, "the reconnects in the metrics") {
            text = try scrape()
            return text.range(of: #"sergeant_broker_reconnects_total\{queue="parity"\} [1-9]"#, options: .regularExpression) != nil
                && text.contains(#"sergeant_task_runs_total{queue="parity",outcome="succeeded"} 8"#)
        }
        try Self.promtool(text)
        // The fleet's exposition from the command line passes too.
        let fleet = try sergeant(["stats", "--prometheus"])
        XCTAssertEqual(fleet.code, 0, fleet.output)
        XCTAssertTrue(fleet.output.contains(#"sergeant_task_runs_total{queue="parity",outcome="succeeded"} 8"#), fleet.output)
        XCTAssertNotNil(fleet.output.range(of: #"sergeant_broker_reconnects_total\{queue="parity"\} [1-9]"#, options: .regularExpression), fleet.output)
        // Only the exposition: the command's log lines (stderr, merged here) start with a date.
        try Self.promtool(fleet.output.split(separator: "\n").filter { !$0.hasPrefix("20") }.joined(separator: "\n") + "\n")
        XCTAssertEqual(try ChildProcess.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                             "http://127.0.0.1:\(port)/other"]).output, "404")
    }

    /// `promtool check metrics` on `text` (Debian's prometheus package; .ci/run installs it).
    static func promtool(_ text: String) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try ChildProcess.run(["/bin/sh", "-c", "promtool check metrics < \(file.path)"])
        XCTAssertEqual(result.code, 0, "promtool check metrics: \(result.output)\n\(text)")
    }
}
