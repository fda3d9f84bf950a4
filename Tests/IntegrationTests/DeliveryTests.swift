import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
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

    /// The keys of `pattern` (KEYS, tests only) and the items of a list, through a real connection.
    func keys(_ pattern: String) throws -> [String] {
        guard case .array(let items) = try inspector().command("KEYS", pattern) else { return [] }
        return items.compactMap { if case .bytes(let bytes) = $0 { String(decoding: bytes, as: UTF8.self) } else { nil } }
    }

    func list(_ key: String) throws -> [[UInt8]] {
        guard case .array(let items) = try inspector().command("LRANGE", key, "0", "-1") else { return [] }
        return items.compactMap { if case .bytes(let bytes) = $0 { bytes } else { nil } }
    }

    func inspector() -> RedisConnection {
        RedisConnection(node: server.node, logger: Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) })
    }

    func testTheRunningTaskIsInFlightOnlyWithAtLeastOnce() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        for atMostOnce in [false, true] {
            _ = try server.command("DEL", "parity-release")
            try push(plugin, "Parity", [#"{"action": "hold", "n": 7}"#])
            let supervisor = try host(plugin, "Parity", environment: atMostOnce ? ["PARITY_AT_MOST_ONCE": "1"] : [:])
            try waitUntil(timeout: 30, "the task to run") { supervisor.output.contains("hold: holding n=7") }
            let records = try keys("parity.processing.*")
            if atMostOnce {
                XCTAssertEqual(records, [], "at-most-once records nothing in flight")
            } else {
                XCTAssertEqual(records.count, 1, "one worker, one in-flight list: \(records)")
                let inFlight = try list(records.first ?? "")
                XCTAssertEqual(inFlight.count, 1)
                let task = try TaskEncoder().decode(inFlight.first ?? [])
                XCTAssertEqual(task.kwargs["action"], "hold", "the running task itself is in flight")
                XCTAssertEqual(task.kwargs["n"], 7)
            }
            _ = try server.command("RPUSH", "parity-release", "go")
            try waitUntil(timeout: 30, "the task to end") { supervisor.output.contains("handler: on_success") }
            supervisor.signal(SIGTERM)
            XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
            XCTAssertEqual(try keys("parity.processing.*"), [], "acknowledged at the end")
        }
    }

    /// Many workers starting at once on a full queue: no live worker's task is taken by a
    /// sibling's recovery, so every task runs exactly once and no death is counted.
    /// SERGEANT_RACE_STARTS host starts (default 20), 16 workers each.
    func testWorkersStartingTogetherWorkEveryTaskExactlyOnce() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let starts = ProcessInfo.processInfo.environment["SERGEANT_RACE_STARTS"].flatMap(Int.init) ?? 20
        let tasks = 160
        for start in 1...starts {
            // Tasks of 20 ms keep the queue full while the workers start.
            try push(plugin, "Parity", (0..<tasks).map { #"{"action": "tally", "n": \#($0), "ms": 20}"# })
            let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                               "--worker-class=Parity", "--concurrent-workers=16"],
                                              environment: ["SERGEANT_REDIS": server.url])
            func tallies() -> [Int] {
                supervisor.output.split(separator: "\n").compactMap { line in
                    line.range(of: "tally: n=").flatMap { Int(line[$0.upperBound...]) }
                }
            }
            try waitUntil(timeout: 60, "start \(start): every task") { Set(tallies()).count == tasks }
            supervisor.signal(SIGTERM)
            XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
            let counts = Dictionary(grouping: tallies(), by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            XCTAssertEqual(counts, [], "start \(start): tasks worked more than once though no worker died")
            XCTAssertFalse(supervisor.output.contains("a dead worker had in flight"), "start \(start): \(supervisor.output)")
            XCTAssertEqual(try server.command("EXISTS", "parity.deaths"), ":0", "start \(start): a live worker was counted dead")
            XCTAssertEqual(try server.command("LLEN", "parity"), ":0")
            XCTAssertEqual(try server.command("LLEN", "parity.recovered"), ":0")
            if !counts.isEmpty { break }
        }
    }
}
