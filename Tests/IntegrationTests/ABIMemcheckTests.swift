import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport
import XCTest

/// The ABI's growth rule under valgrind's memcheck: no byte is read or written past either
/// table, whichever side is older. `sergeant-worker --check` loads a plugin, creates its worker
/// (the table exchange) and reads its config; abi10-host is a host of ABI 1.0 whose
/// tables are exactly the 1.0 structs on the heap. Tests/Fixtures/valgrind.supp holds the
/// one suppression (glibc's loader, while it maps a Swift library). A worker process that works
/// a few hundred tasks from Redis, with each executor, runs under memcheck's leak check.
final class ABIMemcheckTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    /// Runs `arguments` under memcheck and fails on any invalid read or write.
    @discardableResult
    func memcheck(_ arguments: [String], environment: [String: String] = [:],
                  file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let suppressions = ProjectPaths.root.appendingPathComponent("Tests/Fixtures/valgrind.supp").path
        let result = try ChildProcess.run([try which("valgrind"), "--tool=memcheck", "--error-exitcode=99",
                                           "--suppressions=\(suppressions)"] + arguments,
                                          environment: ["SERGEANT_REDIS": server.url].merging(environment) { $1 }, timeout: 300)
        XCTAssertNotEqual(result.code, 99, "memcheck found errors:\n\(result.output)", file: file, line: line)
        XCTAssertEqual(result.code, 0, result.output, file: file, line: line)
        XCTAssertFalse(result.output.contains("Invalid read"), result.output, file: file, line: line)
        XCTAssertFalse(result.output.contains("Invalid write"), result.output, file: file, line: line)
        XCTAssertTrue(result.output.contains("ERROR SUMMARY: 0 errors"), result.output, file: file, line: line)
        return result.output
    }

    /// Today's host loading a plugin: `sergeant-worker --check` loads it, creates its worker
    /// (the table exchange) and reads its configuration. (Not `sergeant push`: since the CLI
    /// links swift-nio and runs an async main, valgrind 3.19 cannot read its debug info and
    /// crashes in libdispatch's signal thread at its exit.)
    func check(_ module: String, _ workerClass: String) throws -> [String] {
        [try ProjectPaths.executable("sergeant-worker"), "--check", "--worker-module", module, "--worker-class", workerClass]
    }

    func testWorkerFromTheFutureInTodaysHostUnderMemcheck() throws {
        try memcheck(try check(try ProjectPaths.fixture("libfuture_worker.so"), "FutureWorker"))
    }

    func testWorkerBuiltAgainstThe10HeaderInTodaysHostUnderMemcheck() throws {
        try memcheck(try check(try ProjectPaths.fixture("liblegacy_worker.so"), "LegacyWorker"))
    }

    func testTodaysSwiftPluginInA10HostUnderMemcheck() throws {
        let task = SergeantTask(kwargs: ["action": "lock"]).messagePack().map { String(format: "%02x", $0) }.joined()
        let output = try memcheck([try ProjectPaths.fixture("abi10-host"), try ProjectPaths.fixturePackage("parity"), "ABIProbe", task])
        XCTAssertTrue(output.contains("has no `lock_acquire`"), output)
    }

    /// A worker process under memcheck with its leak check: `tasks` tasks through the
    /// benchmark plugin (Plugins-Examples/benchmark) from Redis, at-least-once, 10 per
    /// transaction, with `threads` threads (1: the serial executor, more: the threaded one);
    /// the worker ends after its `max_tasks_per_run`. No invalid access, and no byte
    /// definitely lost, by the host, the plugin, hiredis or the Swift runtime.
    func workUnderMemcheck(tasks: Int, threads: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let queue = "memcheck_\(threads)"
        let broker = SergeantBroker.Broker(connector: RedisConnector(nodes: [server.node], logger: Logger(label: "memcheck")),
                                           encoder: TaskEncoder())
        try broker.push(tasks: (0..<tasks).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: queue)
        let report = FileManager.default.temporaryDirectory.appendingPathComponent("memcheck-\(UUID().uuidString).txt").path
        defer { try? FileManager.default.removeItem(atPath: report) }
        let output = try memcheck([
            "--leak-check=full", "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite",
            try ProjectPaths.executable("sergeant-worker"),
            "--worker-module", try ProjectPaths.plugin("benchmark"), "--worker-class", "Worker",
        ], environment: [
            "BENCH_REDIS_PORTS": String(server.port), "BENCH_QUEUE": queue, "BENCH_TASKS_PER_TRANSACTION": "10",
            "BENCH_THREADS": String(threads), "BENCH_MAX_TASKS": String(tasks), "BENCH_REPORT": report,
        ], file: file, line: line)
        XCTAssertTrue(output.contains("definitely lost: 0 bytes") || output.contains("All heap blocks were freed"),
                      output, file: file, line: line)
        let done = (try? String(contentsOfFile: report, encoding: .utf8)) ?? ""
        XCTAssertTrue(done.split(separator: "\n").contains { $0.hasPrefix("done ") && $0.split(separator: " ")[2] == "\(tasks)" },
                      "the worker did not report \(tasks) tasks worked: \(done)\n\(output)", file: file, line: line)
        XCTAssertEqual(try server.command("LLEN", queue), ":0", file: file, line: line)
    }

    func testSerialWorkerLeaksNothingUnderMemcheck() throws {
        try workUnderMemcheck(tasks: 300, threads: 1)
    }

    func testThreadedWorkerLeaksNothingUnderMemcheck() throws {
        try workUnderMemcheck(tasks: 300, threads: 3)
    }

    func testWorkerFromTheFutureInA10HostUnderMemcheck() throws {
        let task = SergeantTask(kwargs: ["please": "push"]).messagePack().map { String(format: "%02x", $0) }.joined()
        let output = try memcheck([try ProjectPaths.fixture("abi10-host"), try ProjectPaths.fixture("libfuture_worker.so"),
                                   "FutureWorker", task])
        XCTAssertTrue(output.contains("create: status=0 size=144"), output)
    }
}
