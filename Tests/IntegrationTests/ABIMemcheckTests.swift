import Foundation
import SergeantCore
import SergeantTestSupport
import XCTest

/// The ABI's growth rule under valgrind's memcheck: no byte is read or written past either
/// table, whichever side is older. `sergeant push` loads a plugin, creates its worker (the
/// table exchange), reads its config and pushes; abi10-host is a host of ABI 1.0 whose
/// tables are exactly the 1.0 structs on the heap. Tests/Fixtures/valgrind.supp holds the
/// one suppression (glibc's loader, while it maps a Swift library).
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
    func memcheck(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let suppressions = ProjectPaths.root.appendingPathComponent("Tests/Fixtures/valgrind.supp").path
        let result = try ChildProcess.run([try which("valgrind"), "--tool=memcheck", "--error-exitcode=99",
                                           "--suppressions=\(suppressions)"] + arguments,
                                          environment: ["SERGEANT_REDIS": server.url], timeout: 300)
        XCTAssertNotEqual(result.code, 99, "memcheck found errors:\n\(result.output)", file: file, line: line)
        XCTAssertEqual(result.code, 0, result.output, file: file, line: line)
        XCTAssertFalse(result.output.contains("Invalid read"), result.output, file: file, line: line)
        XCTAssertFalse(result.output.contains("Invalid write"), result.output, file: file, line: line)
        XCTAssertTrue(result.output.contains("ERROR SUMMARY: 0 errors"), result.output, file: file, line: line)
        return result.output
    }

    func push(_ module: String, _ workerClass: String) throws -> [String] {
        [try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(module)", "--worker-class=\(workerClass)",
         "--kwargs", #"{"n": 1}"#]
    }

    func testWorkerFromTheFutureInTodaysHostUnderMemcheck() throws {
        try memcheck(try push(try ProjectPaths.fixture("libfuture_worker.so"), "FutureWorker"))
        XCTAssertEqual(try server.command("LLEN", "future_worker"), ":1")
    }

    func testWorkerBuiltAgainstThe10HeaderInTodaysHostUnderMemcheck() throws {
        try memcheck(try push(try ProjectPaths.fixture("liblegacy_worker.so"), "LegacyWorker"))
        XCTAssertEqual(try server.command("LLEN", "legacy_worker"), ":1")
    }

    func testTodaysSwiftPluginInA10HostUnderMemcheck() throws {
        let task = SergeantTask(kwargs: ["action": "lock"]).messagePack().map { String(format: "%02x", $0) }.joined()
        let output = try memcheck([try ProjectPaths.fixture("abi10-host"), try ProjectPaths.fixturePackage("parity"), "ABIProbe", task])
        XCTAssertTrue(output.contains("has no `lock_acquire`"), output)
    }

    func testWorkerFromTheFutureInA10HostUnderMemcheck() throws {
        let task = SergeantTask(kwargs: ["please": "push"]).messagePack().map { String(format: "%02x", $0) }.joined()
        let output = try memcheck([try ProjectPaths.fixture("abi10-host"), try ProjectPaths.fixture("libfuture_worker.so"),
                                   "FutureWorker", task])
        XCTAssertTrue(output.contains("create: status=0 size=144"), output)
    }
}
