import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport
import XCTest

/// SIGHUP (issue 13 item 7): the host checks that the module file loads, then replaces its
/// workers one at a time with processes that load the new file, while tasks keep flowing; a
/// half-copied file replaces nobody.
final class RollingRestartTests: XCTestCase {
    var server: RedisServer!
    var pushed = 0

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        server = nil
    }

    /// Pushes four tasks (id-N) every 20 ms until `condition` holds: a producer that never
    /// stops during the deploy.
    func pushTasks(until what: String, timeout: Double = 60, _ condition: () throws -> Bool) throws {
        let connection = RedisConnection(node: server.node, logger: Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) })
        let encoder = TaskEncoder()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return }
            var arguments: [[UInt8]] = [Array("RPUSH".utf8), Array("versioned".utf8)]
            for _ in 0..<4 {
                arguments.append(try encoder.encode(SergeantTask(kwargs: ["id": .string("id-\(pushed)")])))
                pushed += 1
            }
            _ = try connection.command(arguments)
            usleep(20_000)
        }
        throw SupportError("timed out after \(timeout) s waiting for \(what)")
    }

    /// Writes `bytes` beside `path` and renames the file over it, as a deploy should.
    func deploy(_ bytes: Data, to path: String) throws {
        let temporary = path + ".new"
        try bytes.write(to: URL(fileURLWithPath: temporary))
        XCTAssertEqual(rename(temporary, path), 0)
    }

    func lines(_ output: String, _ marker: String) -> [Substring] {
        output.split(separator: "\n").filter { $0.contains(marker) }
    }

    func testSIGHUPReplacesWorkersOneAtATimeWithTheNewModuleWhileTasksFlow() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let module = directory.appendingPathComponent("libversioned.so").path
        let version1 = try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v1.so")))
        let version2 = try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v2.so")))
        try deploy(version1, to: module)
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(module)",
                                           "--worker-class=Versioned", "--concurrent-workers=2", "--grace-period=20"],
                                          environment: ["SERGEANT_REDIS": server.url])
        try pushTasks(until: "version 1 at work") { supervisor.output.contains("versioned worker v1 worked") }
        let firstWorkers = lines(supervisor.output, "spawned worker").compactMap { $0.split(separator: " ").last }

        // A half-copied file: the check refuses it and both version 1 workers stay.
        try deploy(version2.prefix(version2.count / 2), to: module)
        supervisor.signal(SIGHUP)
        try pushTasks(until: "the refusal") { supervisor.output.contains("rolling restart refused") }
        let workedBefore = lines(supervisor.output, "versioned worker v1 worked").count
        try pushTasks(until: "version 1 working on") { self.lines(supervisor.output, "versioned worker v1 worked").count > workedBefore + 20 }
        XCTAssertFalse(supervisor.output.contains("rolling restart: started worker"), supervisor.output)
        XCTAssertEqual(lines(supervisor.output, "spawned worker").count, 2, "nobody was replaced")

        // The whole file: every worker is replaced, one at a time, and version 2 runs.
        try deploy(version2, to: module)
        supervisor.signal(SIGHUP)
        try pushTasks(until: "the rolling restart") { supervisor.output.contains("rolling restart done: 2 worker(s) replaced") }
        try pushTasks(until: "version 2 at work") { self.lines(supervisor.output, "versioned worker v2 worked").count > 20 }
        let total = pushed
        func worked() -> [Substring] {
            supervisor.output.split(separator: "\n").compactMap { line in
                line.range(of: " worked id-").map { line[$0.upperBound...] }
            }
        }
        try waitUntil(timeout: 60, "every task") { Set(worked()).count == total }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        let output = supervisor.output

        let counts = Dictionary(grouping: worked(), by: { $0 }).mapValues(\.count)
        XCTAssertEqual(counts.count, total, "every task was worked")
        XCTAssertEqual(counts.filter { $0.value > 1 }.keys.sorted(), [], "no task was worked twice: no worker died")
        XCTAssertEqual(try server.command("LLEN", "versioned"), ":0")
        let log = output.split(separator: "\n")
        let done = log.firstIndex { $0.contains("rolling restart done") }!
        XCTAssertFalse(log[done...].contains { $0.contains("versioned worker v1 worked") }, "only version 2 runs after the restart")
        // One at a time: the second replacement starts once the first is complete.
        let starts = log.indices.filter { log[$0].contains("rolling restart: started worker") }
        let completions = log.indices.filter { log[$0].contains("rolling restart: worker") && log[$0].contains("is replaced by") }
        XCTAssertEqual(starts.count, 2, output)
        XCTAssertEqual(completions.count, 2, output)
        if starts.count == 2 && completions.count == 2 { XCTAssertTrue(starts[0] < completions[0] && completions[0] < starts[1] && starts[1] < completions[1]) }
        XCTAssertTrue(output.contains("does not load (module not loadable, reason above)"), output)
        XCTAssertTrue(output.contains("is cut short"), output)
        for old in firstWorkers {
            // The new worker starts, becomes ready, and only then the old one gets SIGTERM.
            let started = log.firstIndex { $0.contains("to replace worker \(old)") }
            let stopping = log.firstIndex { $0.contains("stopping worker \(old) (SIGTERM") }
            let stopped = log.firstIndex { $0.contains("worker \(old) has stopped") }
            XCTAssertNotNil(started, "worker \(old) was replaced")
            if let started, let stopping, let stopped { XCTAssertTrue(started < stopping && stopping < stopped, "worker \(old)") } else {
                XCTFail("worker \(old): \(output)")
            }
        }
        // Some worker runs at every moment until the final SIGTERM.
        var alive = Set<Substring>()
        for line in log {
            if line.contains("supervisor received signal 15") { break }
            if let range = line.range(of: "spawned worker ") { alive.insert(line[range.upperBound...]) }
            if let range = line.range(of: "worker "), line.hasSuffix(" has stopped") {
                alive.remove(line[range.upperBound...].prefix { $0 != " " })
                XCTAssertFalse(alive.isEmpty, "every worker was down at once: \(line)")
            }
        }
    }

    /// A worker respawned while the file at the path is broken (a deploy without SIGHUP, a copy
    /// in progress) cannot load it: the loader refuses a file shorter than its ELF headers say
    /// (dlopen itself would die of SIGBUS on it). The host retries it with its backoff while
    /// the other worker goes on, instead of stopping every worker, and a retry loads the
    /// complete file.
    func testAWorkerRespawnedOntoABrokenFileIsRetriedWhileTheOthersWork() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let module = directory.appendingPathComponent("libversioned.so").path
        let version2 = try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v2.so")))
        try deploy(try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v1.so"))), to: module)
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(module)",
                                           "--worker-class=Versioned", "--concurrent-workers=2", "--max-respawn-delay=0.3"],
                                          environment: ["SERGEANT_REDIS": server.url])
        try pushTasks(until: "version 1 at work") { supervisor.output.contains("versioned worker v1 worked") }
        try deploy(version2.prefix(100), to: module)
        let victim = lines(supervisor.output, "spawned worker").compactMap { pid_t($0.split(separator: " ").last ?? "") }.first!
        kill(victim, SIGKILL)
        try pushTasks(until: "three refused loads") { self.lines(supervisor.output, "which loaded before").count >= 3 }
        XCTAssertTrue(supervisor.isRunning, supervisor.output)
        let refused = lines(supervisor.output, "which loaded before").count
        try deploy(version2.prefix(version2.count / 2), to: module)
        try pushTasks(until: "more refused loads") { self.lines(supervisor.output, "which loaded before").count > refused + 1 }
        XCTAssertTrue(supervisor.isRunning, supervisor.output)
        XCTAssertTrue(supervisor.output.contains("is cut short: \(version2.count / 2) bytes"), supervisor.output)
        XCTAssertFalse(supervisor.output.contains("was killed by signal 7"), "no load died of SIGBUS")
        let working = lines(supervisor.output, "versioned worker v1 worked").count
        try pushTasks(until: "the other worker working on") { self.lines(supervisor.output, "versioned worker v1 worked").count > working + 20 }
        try deploy(version2, to: module)
        try pushTasks(until: "version 2 at work") { supervisor.output.contains("versioned worker v2 worked") }
        let total = pushed
        func worked() -> Set<Substring> {
            Set(supervisor.output.split(separator: "\n").compactMap { line in line.range(of: " worked id-").map { line[$0.upperBound...] } })
        }
        // The killed worker's task comes back through the chain of failed successors.
        try waitUntil(timeout: 60, "every task, at least once") { worked().count == total }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertFalse(supervisor.output.contains("could not load the plugin (reason above); stopping"), supervisor.output)
        XCTAssertEqual(try server.command("LLEN", "versioned"), ":0")
    }

    /// The old worker goes on working until its replacement is ready (here 1 s in
    /// initialize), so a single-worker host never stops working during a deploy.
    func testTheOldWorkerWorksUntilItsReplacementIsReady() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-deploy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let module = directory.appendingPathComponent("libversioned.so").path
        try deploy(try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v1.so"))), to: module)
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(module)",
                                           "--worker-class=Versioned", "--concurrent-workers=1"],
                                          environment: ["SERGEANT_REDIS": server.url, "VERSIONED_INITIALIZE_MS": "1000"])
        try pushTasks(until: "version 1 at work") { supervisor.output.contains("versioned worker v1 worked") }
        try deploy(try Data(contentsOf: URL(fileURLWithPath: try ProjectPaths.fixture("libversioned_v2.so"))), to: module)
        supervisor.signal(SIGHUP)
        try pushTasks(until: "the rolling restart") { supervisor.output.contains("rolling restart done: 1 worker(s) replaced") }
        try pushTasks(until: "version 2 at work") { supervisor.output.contains("versioned worker v2 worked") }
        let total = pushed
        try waitUntil(timeout: 60, "every task") {
            Set(supervisor.output.split(separator: "\n").compactMap { line in line.range(of: " worked id-").map { line[$0.upperBound...] } }).count == total
        }
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        let log = supervisor.output.split(separator: "\n")
        let started = log.firstIndex { $0.contains("rolling restart: started worker") }!
        let stopping = log.firstIndex { $0.contains("is ready; stopping worker") }!
        let workedMeanwhile = log[started..<stopping].filter { $0.contains("versioned worker v1 worked") }.count
        XCTAssertGreaterThan(workedMeanwhile, 10, "the old worker worked while the new one initialized: \(supervisor.output)")
    }
}
