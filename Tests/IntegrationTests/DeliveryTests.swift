import SergeantTestSupport
import XCTest

/// At-least-once delivery and poison tasks, by killing real worker processes.
final class DeliveryTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func push(_ plugin: String, _ workerClass: String, _ kwargs: [String]) throws {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                           "--worker-class=\(workerClass)", "--purge"] + kwargs.flatMap { ["--kwargs", $0] },
                                          environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(result.code, 0, result.output)
    }

    func host(_ plugin: String, _ workerClass: String, environment: [String: String] = [:]) throws -> ChildProcess {
        var env = environment
        env["SERGEANT_REDIS"] = server.url
        return try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                 "--worker-class=\(workerClass)"], environment: env)
    }

    func workerPIDs(_ output: String) -> [pid_t] {
        output.split(separator: "\n").filter { $0.contains("spawned worker") }.compactMap { pid_t($0.split(separator: " ").last!) }
    }

    func testSIGKILLedWorkersLoseNoTask() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        try push(plugin, "Parity", (0..<40).map { #"{"action": "slow", "n": \#($0)}"# })
        let supervisor = try host(plugin, "Parity")
        // Kill the worker three times while it works; each replacement takes over the task
        // its predecessor had in flight.
        for round in 1...3 {
            try waitUntil(timeout: 60, "worker \(round) to be working") {
                self.workerPIDs(supervisor.output).count == round && supervisor.output.components(separatedBy: "slow: done").count > round * 3
            }
            kill(workerPIDs(supervisor.output).last!, SIGKILL)
        }
        try waitUntil(timeout: 60, "every task") {
            Set(supervisor.output.split(separator: "\n").compactMap { line in
                line.range(of: "slow: done n=").map { Int(line[$0.upperBound...]) } ?? nil
            }).count == 40
        }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0)
        XCTAssertTrue(supervisor.output.contains("was killed by signal 9"), supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "parity"), ":0")
        XCTAssertEqual(try server.command("LLEN", "parity.dead"), ":0", "no task died three times")
    }

    func testPoisonTaskIsSetAsideAfterThreeDeaths() throws {
        let plugin = try ProjectPaths.fixture("libcrashing_worker.so")
        try push(plugin, "CrashInWork", [#"{"n": 1}"#, #"{"please": "crash"}"#, #"{"n": 2}"#, #"{"n": 3}"#])
        let supervisor = try host(plugin, "CrashInWork")
        try waitUntil(timeout: 60, "the poison task to be set aside and the rest done") {
            supervisor.output.contains("poison task") && supervisor.output.components(separatedBy: "finished a task").count > 3
        }
        supervisor.signal(SIGTERM)
        supervisor.wait(timeout: 30)
        XCTAssertEqual(supervisor.output.components(separatedBy: "was killed by signal 6").count - 1, 3, supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "crashing.dead"), ":1", supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "crashing"), ":0")
    }

    func testAtMostOnceKeepsNoInFlightRecord() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        for (environment, expected) in [([String: String](), ":1"), (["PARITY_AT_MOST_ONCE": "1"], ":0")] {
            try push(plugin, "Parity", [#"{"action": "return"}"#])
            let supervisor = try host(plugin, "Parity", environment: environment)
            try waitUntil(timeout: 30, "the task") { supervisor.output.contains("handler: on_success") }
            XCTAssertEqual(try server.command("EXISTS", "parity.processing"), expected, "\(environment)")
            supervisor.signal(SIGTERM)
            supervisor.wait(timeout: 30)
            _ = try server.command("DEL", "parity.processing")
        }
    }
}
