import Foundation
import SergeantTestSupport
import XCTest

/// Bad input of every kind gets a clear message and the right exit code, and loses nothing.
final class HostileInputTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func sergeant(_ arguments: [String], environment: [String: String] = [:]) throws -> (code: Int32, output: String) {
        var env = environment
        env["SERGEANT_REDIS"] = env["SERGEANT_REDIS"] ?? server.url
        return try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments, environment: env)
    }

    func host(_ plugin: String, _ workerClass: String, environment: [String: String] = [:], arguments: [String] = []) throws -> ChildProcess {
        var env = environment
        env["SERGEANT_REDIS"] = env["SERGEANT_REDIS"] ?? server.url
        return try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                 "--worker-class=\(workerClass)"] + arguments, environment: env)
    }

    func testUndecodableTasksAreSetAsideAndTheWorkerGoesOn() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        XCTAssertEqual(try server.command("RPUSH", "test_worker", "this is not msgpack", "\u{92}\u{01}"), ":2")
        XCTAssertEqual(try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Worker", "--kwargs", #"{"after": "garbage"}"#]).code, 0)
        let supervisor = try host(plugin, "Worker")
        try waitUntil(timeout: 30, "the good task") { supervisor.output.contains("task parameters are: {'after': 'garbage'}") }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0)
        XCTAssertEqual(supervisor.output.components(separatedBy: "was set aside in test_worker.dead").count - 1, 2, supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker.dead"), ":2")

        // sergeant dead list | requeue | purge
        let module = ["--worker-module=\(plugin)", "--worker-class=Worker"]
        let list = try sergeant(["dead", "list"] + module)
        XCTAssertEqual(list.code, 0, list.output)
        XCTAssertTrue(list.output.contains("malformed msgpack"), list.output)
        XCTAssertTrue(list.output.contains("2 task(s) in test_worker.dead"), list.output)
        XCTAssertTrue(try sergeant(["dead", "requeue"] + module).output.contains("requeued 2 task(s) to test_worker"))
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":2", "the original bytes are back in the queue")
        XCTAssertEqual(try server.command("LLEN", "test_worker.dead"), ":0")
        XCTAssertEqual(try server.command("RPUSH", "test_worker.dead", "x"), ":1")
        XCTAssertTrue(try sergeant(["dead", "purge"] + module).output.contains("purged test_worker.dead"))
        XCTAssertEqual(try server.command("EXISTS", "test_worker.dead"), ":0")
    }

    func testOversizedTasksAreRefusedOnPushWithTheReason() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let big = String(repeating: "x", count: 500)
        let result = try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Parity", "--kwargs", #"{"blob": "\#(big)"}"#],
                                  environment: ["PARITY_MAX_TASK_SIZE": "200"])
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertTrue(result.output.contains("exceeds max_task_size (200 bytes); nothing was pushed"), result.output)
        XCTAssertEqual(try server.command("LLEN", "parity"), ":0")
    }

    func testQueueNamesWithSpacesAndUnicode() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let name = "queue with spaces ☃ ü"
        XCTAssertEqual(try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Worker", "--task-name", name,
                                     "--kwargs", "{}", "--count", "3"]).code, 0)
        let count = try sergeant(["count", "--worker-module=\(plugin)", "--worker-class=Worker", "--task-name", name])
        // The last line: warnings about the test's redis-server (it persists nothing) come before it.
        XCTAssertEqual(count.output.split(separator: "\n").last, "3", count.output)
        XCTAssertEqual(try server.command("LLEN", name), ":3")
    }

    /// A plugin that crashes before it can work is respawned forever, each time later, up to
    /// --max-respawn-delay: the host never gives up (issue 15 item 6), and the task stays queued.
    func testPluginThatCrashesInInitializeIsRespawnedWithABackoffAndLosesNothing() throws {
        let plugin = try ProjectPaths.fixture("libcrashing_worker.so")
        XCTAssertEqual(try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=CrashInInitialize", "--kwargs", "{}"]).code, 0)
        let supervisor = try host(plugin, "CrashInInitialize", arguments: ["--max-respawn-delay", "0.4"])
        func delays() -> [Double] {
            supervisor.output.split(separator: "\n").compactMap { line in
                line.range(of: "; respawning in ").flatMap { Double(line[$0.upperBound...].prefix { $0 != " " }) }
            }
        }
        // 0.1, 0.2, 0.4 (the cap), then the cap again and again: the supervisor goes on.
        try waitUntil(timeout: 60, "eight respawns, the last ones at the cap") { delays().count >= 8 }
        XCTAssertTrue(supervisor.isRunning, supervisor.output)
        let seen = delays()
        XCTAssertEqual(Array(seen.prefix(4)), [0.1, 0.2, 0.4, 0.4], supervisor.output)
        XCTAssertEqual(seen.max(), 0.4, "never longer than --max-respawn-delay")
        let warning = supervisor.output.split(separator: "\n").first { $0.contains("; respawning in 0.4 s") } ?? ""
        for field in ["worker_pid=", "failures=", "respawn_delay=0.4", "end=signal 6"] {
            XCTAssertTrue(warning.contains(field), "the backoff line carries \(field): \(warning)")
        }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertFalse(supervisor.output.contains("before it can work, giving up"), supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "crashing"), ":1", "the task was never taken")
    }

    func testUnreachableRedisAtStartIsLoggedAndTheWorkerCarriesOnWhenItComes() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let port = try freePort()
        let url = "redis://127.0.0.1:\(port)/0"
        let supervisor = try host(plugin, "Worker", environment: ["SERGEANT_REDIS": url, "SERGEANT_RECONNECT_TIMEOUT": "0.3"])
        try waitUntil(timeout: 30, "the worker to report the dead Redis") { supervisor.output.contains("could not pull tasks") }
        XCTAssertTrue(supervisor.output.contains("unreachable"), supervisor.output)
        let late = try RedisServer(port: port)
        XCTAssertEqual(try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Worker", "--kwargs", #"{"late": true}"#],
                                    environment: ["SERGEANT_REDIS": url]).code, 0)
        try waitUntil(timeout: 30, "the task") { supervisor.output.contains("task parameters are: {'late': True}") }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0)
        late.stop()
    }

    func testRedisPasswordNeverShowsInLogsOrProcessArguments() throws {
        XCTAssertEqual(try server.command("CONFIG", "SET", "requirepass", "s3cret-pw"), "+OK")
        let plugin = try ProjectPaths.plugin("consumer")
        let url = "redis://:s3cret-pw@127.0.0.1:\(server.port)/0"
        XCTAssertEqual(try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Worker", "--kwargs", #"{"secure": 1}"#],
                                    environment: ["SERGEANT_REDIS": url]).code, 0)
        let supervisor = try host(plugin, "Worker", environment: ["SERGEANT_REDIS": url])
        try waitUntil(timeout: 30, "the task") { supervisor.output.contains("task parameters are: {'secure': 1}") }
        let workers = supervisor.output.split(separator: "\n").filter { $0.contains("spawned worker") }.compactMap { $0.split(separator: " ").last }
        for pid in workers {
            let arguments = (try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? ""
            XCTAssertFalse(arguments.isEmpty, "worker \(pid) runs")
            XCTAssertFalse(arguments.contains("s3cret-pw"), "the password is not in the worker's arguments")
        }
        supervisor.signal(SIGTERM)
        supervisor.wait(timeout: 30)
        XCTAssertFalse(supervisor.output.contains("s3cret-pw"), supervisor.output)
    }

    func testBadKwargsAreRefusedBrieflyAndInfinityIsNotJSON() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let module = ["push", "--worker-module=\(plugin)", "--worker-class=Worker"]
        let deep = String(repeating: "[", count: 60_000)
        let nested = try sergeant(module + ["--kwargs", deep])
        XCTAssertNotEqual(nested.code, 0)
        XCTAssertTrue(nested.output.contains("(60000 bytes)"), nested.output)
        XCTAssertLessThan(nested.output.utf8.count, 2_000, "the argument is not echoed back whole")
        let infinite = try sergeant(module + ["--kwargs", #"{"a": 1e999}"#])
        XCTAssertNotEqual(infinite.code, 0)
        XCTAssertTrue(infinite.output.contains("too large for a 64-bit float (JSON has no infinity)"), infinite.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":0", "nothing was pushed")
    }

    func testPushToADeadRedisSaysItRetriesAndGivesUpSoon() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let dead = "redis://127.0.0.1:\(try freePort())/0"
        let started = Date()
        let result = try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Worker", "--kwargs", "{}", "--retry-for", "1"],
                                  environment: ["SERGEANT_REDIS": dead])
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertLessThan(Date().timeIntervalSince(started), 25, "it gave up long before a worker's 30 s")
        let warnings = result.output.split(separator: "\n").filter { $0.contains("reconnecting in") }
        XCTAssertFalse(warnings.isEmpty, result.output)
        XCTAssertTrue(warnings.allSatisfy { $0.contains(" sergeant ") && $0.contains("giving up in") }, result.output)
        XCTAssertFalse(result.output.contains("test_worker "), "logged under the command's name, not the worker's: \(result.output)")
        XCTAssertTrue(result.output.contains("is unreachable"), result.output)
    }

    func testTheProducerReadsThePluginsConfigurationOnceWithoutABroker() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-config-\(getpid()).log").path
        defer { try? FileManager.default.removeItem(atPath: log) }
        let count = try sergeant(["count", "--worker-module=\(plugin)", "--worker-class=Parity"], environment: ["PARITY_CONFIG_LOG": log])
        XCTAssertEqual(count.code, 0, count.output)
        XCTAssertEqual(count.output.split(separator: "\n").last, "0")
        let calls = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(calls.count, 1, "generateConfig ran \(calls.count) times: \(calls)")
    }
}
