import Foundation
import SergeantCore
import SergeantTestSupport
import XCTest

/// The ABI's growth rule through real processes: a plugin from the future (ABI 1.99) and one
/// built against the frozen 1.0 header run end to end in today's sergeant-host; a Swift
/// plugin built with today's SDK runs in a host of ABI 1.0 (Tests/Fixtures/abi10_host.c).
final class ABIGrowthFlowTests: XCTestCase {
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

    func host(module: String, workerClass: String) throws -> ChildProcess {
        try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(module)",
                          "--worker-class=\(workerClass)", "--concurrent-workers=1"],
                         environment: ["SERGEANT_REDIS": server.url])
    }

    func stop(_ supervisor: ChildProcess, file: StaticString = #filePath, line: UInt = #line) {
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output, file: file, line: line)
    }

    /// The line of `output` that contains `text`.
    func line(_ output: String, containing text: String) -> String? {
        output.split(separator: "\n").first { $0.contains(text) }.map(String.init)
    }

    // MARK: Today's host, plugins of other minors

    func testWorkerFromTheFutureRunsEndToEnd() throws {
        let plugin = try ProjectPaths.fixture("libfuture_worker.so")
        let push = try sergeant("push", "--worker-module=\(plugin)", "--worker-class=FutureWorker", "--kwargs", #"{"please": "push"}"#)
        XCTAssertEqual(push.code, 0, push.output)
        XCTAssertEqual(try server.command("LLEN", "future_worker"), ":1")
        let supervisor = try host(module: plugin, workerClass: "FutureWorker")
        try waitUntil(timeout: 30, "the task and its child task") {
            try supervisor.output.contains("future worker ran a task") && server.command("LLEN", "future_child") == ":1"
        }
        stop(supervisor)
        // log_with_metadata: the metadata follows the message as key=value, sorted.
        let logged = try XCTUnwrap(line(supervisor.output, containing: "future worker ran a task"), supervisor.output)
        XCTAssertNotNil(logged.range(of: #" future_worker \d+ INFO     future worker ran a task abi=1\.99 room=160$"#,
                                     options: .regularExpression), logged)
        XCTAssertTrue(supervisor.output.contains("this host has no time_travel; doing without"), supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "future_worker"), ":0")
    }

    func testWorkerBuiltAgainstTheFrozen10HeaderRunsEndToEnd() throws {
        let plugin = try ProjectPaths.fixture("liblegacy_worker.so")
        let push = try sergeant("push", "--worker-module=\(plugin)", "--worker-class=LegacyWorker", "--kwargs", #"{"n": 1}"#)
        XCTAssertEqual(push.code, 0, push.output)
        let supervisor = try host(module: plugin, workerClass: "LegacyWorker")
        try waitUntil(timeout: 30, "the task and its child task") {
            try supervisor.output.contains("legacy worker got a task of") && server.command("LLEN", "legacy_child") == ":1"
        }
        stop(supervisor)
        XCTAssertEqual(try server.command("LLEN", "legacy_worker"), ":0")
    }

    func testSwiftWorkerLogsMetadataAndItsInitLineInTodaysHost() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        XCTAssertEqual(try sergeant("push", "--worker-module=\(plugin)", "--worker-class=ABIProbe", "--kwargs", #"{"n": 7}"#,
                                    "--kwargs", #"{"action": "lock", "n": 8}"#).code, 0)
        let supervisor = try host(module: plugin, workerClass: "ABIProbe")
        try waitUntil(timeout: 30, "both tasks") { supervisor.output.contains("abi probe: lock taken=") }
        stop(supervisor)
        let output = supervisor.output
        // Logged in init, before the host was attached: written once it was, in its format.
        // (sergeant-worker creates a first instance only to read the config, under its own name.)
        let early = output.split(separator: "\n").filter { $0.contains("abi probe: created before the host was attached") }
        XCTAssertTrue(early.contains { $0.range(of: #"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d abi_probe    \d+ INFO     abi probe: created"#,
                                                options: .regularExpression) != nil }, output)
        XCTAssertNotNil(line(output, containing: "abi probe: working n=7 phase=work"), output)
        XCTAssertNotNil(line(output, containing: "abi probe: lock taken=true phase=work"), output)
    }

    // MARK: A host of ABI 1.0, plugins of today

    /// Runs Tests/Fixtures/abi10_host.c (a host of ABI 1.0) on one task.
    func runInA10Host(_ module: String, _ workerClass: String, kwargs: ValueMap) throws -> (code: Int32, output: String) {
        let task = SergeantTask(kwargs: kwargs).messagePack().map { String(format: "%02x", $0) }.joined()
        return try ChildProcess.run([try ProjectPaths.fixture("abi10-host"), module, workerClass, task])
    }

    func testSwiftPluginInA10HostFallsBackToLogAndNamesMissingFunctions() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let logged = try runInA10Host(plugin, "ABIProbe", kwargs: ["n": 1])
        XCTAssertEqual(logged.code, 0, logged.output)
        XCTAssertTrue(logged.output.contains("host log 20: abi probe: created before the host was attached"), logged.output)
        XCTAssertTrue(logged.output.contains("host log 20: abi probe: working n=1 phase=work\n"), logged.output)
        XCTAssertTrue(logged.output.contains("work: status=0 "), logged.output)

        let locked = try runInA10Host(plugin, "ABIProbe", kwargs: ["action": "lock"])
        XCTAssertEqual(locked.code, 0, locked.output)
        XCTAssertTrue(locked.output.contains("work: status=1 error=this host (ABI 1.0) has no `lock_acquire`; upgrade sergeant-host"),
                      locked.output)
    }

    func testWorkerFromTheFutureInA10HostWritesOnlyThe10Table() throws {
        let result = try runInA10Host(try ProjectPaths.fixture("libfuture_worker.so"), "FutureWorker", kwargs: ["please": "push"])
        XCTAssertEqual(result.code, 0, result.output)
        // No room preset (a 1.0 host): the plugin wrote SERGEANT_WORKER_API_SIZE_1_0 bytes.
        XCTAssertTrue(result.output.contains("create: status=0 size=144"), result.output)
        XCTAssertTrue(result.output.contains("host log 20: future worker ran a task abi=1.99 room=0"), result.output)
        XCTAssertTrue(result.output.contains("host push_tasks: future_child count=1"), result.output)
        XCTAssertTrue(result.output.contains("work: status=0 error= value=92cd0000cd0090"), result.output)
    }
}
