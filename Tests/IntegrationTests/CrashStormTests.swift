import Foundation
import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport
import XCTest

/// Crash storms (issue 15 item 6): tasks that each kill their worker (SIGABRT in plugin code)
/// make the supervisor respawn with a backoff, never give up, set each of them aside after
/// max_deaths (3), and work every healthy task mixed among them.
///
/// `make test` runs 50 crashing + 50 healthy tasks; `make storm` runs 1,000 + 1,000
/// (SERGEANT_STORM_TASKS=1000; SERGEANT_STORM_WORKERS, default 2; SERGEANT_STORM_MAX_DELAY,
/// default 0.2 s) and prints the same figures.
final class CrashStormTests: XCTestCase {
    var server: RedisServer!

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    func host(_ arguments: [String]) throws -> ChildProcess {
        let plugin = try ProjectPaths.fixture("libcrashing_worker.so")
        return try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)", "--worker-class=CrashInWork"]
                                + arguments, environment: ["SERGEANT_REDIS": server.url])
    }

    func push(_ lines: [String]) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-storm-\(getpid())-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(try ProjectPaths.fixture("libcrashing_worker.so"))",
                                           "--worker-class=CrashInWork", "--from-file", file], environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(result.code, 0, result.output)
    }

    func length(_ key: String) throws -> Int {
        Int(try server.command("LLEN", key).dropFirst()) ?? -1
    }

    /// The delays of the supervisor's backoff lines, in order.
    func delays(_ output: String) -> [Double] {
        output.split(separator: "\n").compactMap { line in
            line.range(of: "; respawning in ").flatMap { Double(line[$0.upperBound...].prefix { $0 != " " }) }
        }
    }

    func testCrashStormBacksOffSetsEveryPoisonTaskAsideAndWorksEveryHealthyTask() throws {
        let environment = ProcessInfo.processInfo.environment
        let crashing = environment["SERGEANT_STORM_TASKS"].flatMap(Int.init) ?? 50
        let maxDelay = environment["SERGEANT_STORM_MAX_DELAY"].flatMap(Double.init) ?? 0.2
        let workers = environment["SERGEANT_STORM_WORKERS"].flatMap(Int.init) ?? 2
        // Healthy and crashing tasks alternate; healthy ones name themselves id-N.
        try push((0..<crashing).flatMap { [#"{"id": "id-\#($0)"}"#, #"{"please": "crash", "n": \#($0)}"#] })
        let supervisor = try host(["--concurrent-workers=\(workers)", "--max-respawn-delay=\(maxDelay)"])
        // Each crashing task costs 3 deaths; a slot respawns at most once per maxDelay, and a
        // worker's start and crash (with the Swift runtime's backtrace) take up to a second here.
        let budget = 120 + Double(crashing * 3) * (maxDelay + 1.5) / Double(workers)
        try waitUntil(timeout: budget, "every crashing task set aside and the queue drained") {
            try length("crashing.dead") == crashing && length("crashing") == 0 && length("crashing.recovered") == 0
        }
        let worked = { (output: String) -> [String] in
            output.split(separator: "\n").compactMap { line in
                line.range(of: "finished a task id-").map { String(line[$0.upperBound...]) }
            }
        }
        try waitUntil(timeout: 30, "every healthy task's line") { Set(worked(supervisor.output)).count == crashing }
        let wall = Date().timeIntervalSince1970 - supervisor.started
        let cpu = processTreeCPUSeconds(supervisor.pid)
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, String(supervisor.output.suffix(4000)))
        let output = supervisor.output
        let deaths = output.components(separatedBy: "was killed by signal 6").count - 1
        let duplicates = worked(output).count - crashing
        print("crash storm: \(crashing) crashing + \(crashing) healthy tasks, \(workers) workers, --max-respawn-delay \(maxDelay):"
              + " \(deaths) worker deaths, wall \(String(format: "%.1f", wall)) s, supervisor+workers CPU \(String(format: "%.2f", cpu)) s"
              + " (\(String(format: "%.2f", cpu / wall)) cores), healthy tasks worked twice: \(duplicates)")
        XCTAssertEqual(deaths, 3 * crashing, "each crashing task killed max_deaths (3) workers, no more")
        XCTAssertEqual(duplicates, 0, "a healthy task is never in flight when its worker dies (one task per pull)")
        XCTAssertFalse(output.contains("before it can work, giving up"), "the host never gives up")
        let inspector = RedisConnection(node: server.node, logger: Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) })
        guard case .array(let entries) = try inspector.command("LRANGE", "crashing.dead", "0", "-1") else { return XCTFail("no dead letters") }
        for case .bytes(let bytes) in entries {
            let entry = String(decoding: bytes, as: UTF8.self)
            XCTAssertTrue(entry.contains("crash") && entry.contains("poison task"), entry)
        }
        // The backoff: almost every respawn waited the cap (each slot's first few waited less).
        let waits = delays(output)
        XCTAssertEqual(waits.count, deaths, "every death was backed off")
        XCTAssertGreaterThanOrEqual(waits.filter { $0 == maxDelay }.count, deaths - 8 * workers, "respawns wait the cap")
        // The first 3 crashes of each failure series have a Swift backtrace, the rest none.
        let backtraces = output.components(separatedBy: "*** Signal 6: Backtracing").count - 1
        let series = workers + output.components(separatedBy: "respawn backoff is reset").count - 1
        print("crash storm: \(backtraces) Swift backtraces in \(series) failure series")
        XCTAssertGreaterThanOrEqual(backtraces, 3, "the first crashes are diagnosed")
        XCTAssertLessThanOrEqual(backtraces, 3 * series, "then a slot's workers crash without a backtrace")
        XCTAssertTrue(output.contains("its next workers crash without a Swift backtrace"), "and the log says so")
        XCTAssertLessThan(cpu / wall, 1.5, "the storm's CPU stays bounded")
    }

    func testTheBackoffResetsOnceAWorkerHasRunLongEnough() throws {
        // 4 s: on a loaded machine a crashing worker's start and Swift backtrace alone took 1.2-1.5 s,
        // which a 1 s reset counted as a worker that ran long enough.
        let supervisor = try host(["--max-respawn-delay=0.4", "--respawn-reset-after=4"])
        try push([#"{"please": "crash", "n": 1}"#])
        try waitUntil(timeout: 60, "the first poison task set aside") { try length("crashing.dead") == 1 }
        XCTAssertEqual(delays(supervisor.output), [0.1, 0.2, 0.4], supervisor.output)
        try waitUntil(timeout: 30, "the backoff reset") { supervisor.output.contains("respawn backoff is reset") }
        try push([#"{"please": "crash", "n": 2}"#])
        try waitUntil(timeout: 60, "the second poison task set aside") { try length("crashing.dead") == 2 }
        XCTAssertEqual(delays(supervisor.output), [0.1, 0.2, 0.4, 0.1, 0.2, 0.4], "the second series starts again at 0.1 s")
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
    }
}

/// CPU seconds (user + system) of `pid` and of its children, reaped (cutime, cstime) and
/// alive, from /proc.
func processTreeCPUSeconds(_ pid: pid_t) -> Double {
    func fields(_ pid: pid_t) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        return text[text.index(after: close)...].split(separator: " ")
    }
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    var total = 0.0
    if let own = fields(pid), own.count > 14 {
        // After the ")": state is field 3, so utime (14) is index 11 ... cstime (17) index 14.
        total += (11...14).compactMap { Double(own[$0]) }.reduce(0, +)
    }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let child = pid_t(entry), let stat = fields(child), stat.count > 14, stat[1] == "\(pid)" else { continue }
        total += (11...14).compactMap { Double(stat[$0]) }.reduce(0, +)
    }
    return total / ticks
}
