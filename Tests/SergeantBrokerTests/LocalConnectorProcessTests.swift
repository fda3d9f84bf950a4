import Foundation
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// Several processes on one SQLite file, as workers and producers use it. The processes are
/// this test bundle run again with a filter that selects ``LocalChildProcess``, its role in
/// the environment; python3's sqlite3 module inspects the file independently.
final class LocalConnectorProcessTests: XCTestCase {
    var directory: URL!
    var filePath: String { directory.appendingPathComponent("queue.sqlite3").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        directory = try makeTemporaryDirectory()
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        super.tearDown()
    }

    // MARK: Children

    /// Starts this test bundle as a child with `role` (see ``LocalChildProcess``).
    func spawn(_ role: String, _ name: String, queue: String = "items", count: Int = 0, batch: Int = 1,
               start: String = "go") throws -> ChildProcess {
        #if os(Linux)
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        return try ChildProcess([bundle, "SergeantBrokerTests.LocalChildProcess/testRunAsChildProcess"], environment: [
            "SERGEANT_LOCAL_CHILD": role,
            "SERGEANT_LOCAL_FILE": filePath,
            "SERGEANT_LOCAL_QUEUE": queue,
            "SERGEANT_LOCAL_NAME": name,
            "SERGEANT_LOCAL_COUNT": String(count),
            "SERGEANT_LOCAL_BATCH": String(batch),
            "SERGEANT_LOCAL_RECORD": record(name),
            "SERGEANT_LOCAL_START": start,
        ])
        #else
        throw XCTSkip("child processes re-run the test bundle, which is an executable only on Linux")
        #endif
    }

    /// The file child `name` records what it pushed or popped in.
    func record(_ name: String) -> String {
        directory.appendingPathComponent("\(name).record").path
    }

    /// The complete lines child `name` recorded.
    func recorded(_ name: String) -> [String] {
        let text = (try? String(contentsOfFile: record(name), encoding: .utf8)) ?? ""
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines.removeLast() // Empty after the final newline, or a line cut short by SIGKILL.
        return lines
    }

    /// Sets `go` once the children `names` are all up and waiting for it: a child that started
    /// late (a loaded machine) would find the others done with the work it was there to share.
    func go(_ connector: LocalConnector, after names: [String]) throws {
        try waitUntil(timeout: 60, "the children to be ready") {
            try names.allSatisfy { try connector.keyGet("ready-\($0)") != nil }
        }
        XCTAssertTrue(try connector.keySet("go", value: []))
    }

    func waitForSuccess(_ children: [ChildProcess]) {
        for child in children {
            XCTAssertEqual(child.wait(timeout: 120), 0, child.output)
        }
    }

    // MARK: Tests

    func testProcessesPopEveryItemExactlyOnce() throws {
        let total = 2_000
        let connector = try LocalConnector(filePath: filePath)
        try connector.push(queue: "items", items: (0..<total).map { Array("item-\($0)".utf8) }, priority: .normal, consumableFrom: nil)
        XCTAssertTrue(try connector.keySet("stop", value: []), "no more pushes: poppers stop at the empty queue")
        let batches = [1, 2, 3, 5]
        let children = try batches.indices.map { try spawn("pop", "popper\($0)", batch: batches[$0]) }
        try go(connector, after: batches.indices.map { "popper\($0)" })
        waitForSuccess(children)
        let popped = batches.indices.flatMap { recorded("popper\($0)") }
        XCTAssertEqual(popped.count, total, "no item popped twice")
        XCTAssertEqual(Set(popped), Set((0..<total).map { "item-\($0)" }), "every item popped")
        let participants = batches.indices.filter { !recorded("popper\($0)").isEmpty }
        XCTAssertGreaterThan(participants.count, 1, "the poppers ran at the same time")
        XCTAssertEqual(try inspectWithPython(filePath, """
            print(db.execute('PRAGMA integrity_check').fetchone()[0])
            print(db.execute('SELECT count(*) FROM sergeant_queue').fetchone()[0])
            """), ["ok", "0"])
    }

    func testProcessesPushAndPopAtOnce() throws {
        let perPusher = 300
        let connector = try LocalConnector(filePath: filePath)
        let pushers = try (0..<3).map { try spawn("push", "pusher\($0)", count: perPusher, batch: [1, 4, 10][$0]) }
        let poppers = try (0..<3).map { try spawn("pop", "popper\($0)", batch: [1, 7, 30][$0]) }
        try go(connector, after: (0..<3).flatMap { ["pusher\($0)", "popper\($0)"] })
        waitForSuccess(pushers)
        XCTAssertTrue(try connector.keySet("stop", value: []))
        waitForSuccess(poppers)
        let popped = (0..<3).flatMap { recorded("popper\($0)") }
        let pushed = (0..<3).flatMap { pusher in (0..<perPusher).map { "pusher\(pusher)-\($0)" } }
        XCTAssertEqual(popped.count, pushed.count, "no item popped twice")
        XCTAssertEqual(Set(popped), Set(pushed), "every item popped")
        XCTAssertEqual(try connector.length(queue: "items", includeDelayed: true), 0)
    }

    func testAtLeastOnceWorkersAndProducersShareTheFileAndAKilledWorkersTasksAreRecovered() throws {
        let perPusher = 600
        let connector = try LocalConnector(filePath: filePath)
        let pushers = try (0..<2).map { try spawn("push", "pusher\($0)", count: perPusher, batch: [1, 10][$0]) }
        // Workers 0 and 1 start once worker 2 has its first batch: on a loaded machine SQLite's
        // lock went to them again and again while worker 2 slept in its busy handler, until the
        // queue was empty and worker 2 had nothing to die with.
        let workers = try (0..<3).map { try spawn("alo", "worker\($0)", batch: [1, 5, 10][$0], start: $0 == 2 ? "go" : "go-workers") }
        try go(connector, after: ["pusher0", "pusher1", "worker0", "worker1", "worker2"])
        // Worker 2 dies in the middle of a batch; its supervisor names it to its replacement.
        try waitUntil(timeout: 60, "worker 2 to be working") { self.recorded("worker2").count >= 10 }
        XCTAssertTrue(try connector.keySet("go-workers", value: []))
        workers[2].signal(SIGKILL)
        XCTAssertEqual(workers[2].wait(timeout: 10), 128 + SIGKILL)
        let replacement = Broker(connector: try LocalConnector(filePath: filePath), encoder: TaskEncoder())
        let requeued = try replacement.recover(queue: "items", deadWorker: "worker2", claimant: "worker2b", maxDeaths: 3).requeued
        XCTAssertLessThanOrEqual(requeued, 10, "at most its batch was in flight")
        waitForSuccess(pushers)
        XCTAssertTrue(try connector.keySet("stop", value: []))
        waitForSuccess(Array(workers.prefix(2)))
        // What the others left of the recovered tasks (they pop them first, so nothing is left).
        var rest: [String] = []
        while case let items = try connector.pop(KeySpace(queue: "items"), count: 100, inFlightFor: "worker2b"), !items.isEmpty {
            rest += items.map { String(decoding: $0, as: UTF8.self) }
        }
        let popped = (0..<3).flatMap { recorded("worker\($0)") } + rest
        let pushed = (0..<2).flatMap { pusher in (0..<perPusher).map { "pusher\(pusher)-\($0)" } }
        XCTAssertEqual(Set(popped), Set(pushed), "every task popped, none lost with the killed worker")
        XCTAssertLessThanOrEqual(popped.count - pushed.count, 10, "only the killed worker's batch may run twice")
        XCTAssertEqual(try connector.inFlightItems(queue: "items").filter { $0.worker != "worker2b" }.count, 0,
                       "the other workers' last pops acknowledged everything")
    }

    func testPushesAreFsyncedAndPopsAreNot() throws {
        let strace = "/usr/bin/strace"
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: strace), "strace is not installed (.ci/run installs it)")
        let connector = try LocalConnector(filePath: filePath)
        XCTAssertTrue(try connector.keySet("go", value: []))
        XCTAssertTrue(try connector.keySet("stop", value: []))
        #if os(Linux)
        let bundle = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        func syncs(_ role: String, count: Int) throws -> Int {
            let log = directory.appendingPathComponent("\(role).strace").path
            let child = try ChildProcess([strace, "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", log, bundle,
                                          "SergeantBrokerTests.LocalChildProcess/testRunAsChildProcess"], environment: [
                "SERGEANT_LOCAL_CHILD": role, "SERGEANT_LOCAL_FILE": filePath, "SERGEANT_LOCAL_QUEUE": "items",
                "SERGEANT_LOCAL_NAME": role, "SERGEANT_LOCAL_COUNT": String(count), "SERGEANT_LOCAL_BATCH": "1",
                "SERGEANT_LOCAL_RECORD": record(role),
            ])
            XCTAssertEqual(child.wait(timeout: 120), 0, child.output)
            let text = try String(contentsOfFile: log, encoding: .utf8)
            return text.split(separator: "\n").filter { $0.contains("sync(") && !$0.contains("resumed") }.count
        }
        XCTAssertGreaterThanOrEqual(try syncs("push", count: 20), 20, "each of the 20 pushes fsyncs the WAL before it returns")
        XCTAssertEqual(recorded("push").count, 20)
        XCTAssertLessThan(try syncs("pop", count: 0), 5, "the 20 pops commit without an fsync each")
        XCTAssertEqual(recorded("pop").count, 20)
        #else
        throw XCTSkip("strace runs on Linux")
        #endif
    }

    func testKilledProcessesLeaveTheFileIntactWithEveryCommittedItem() throws {
        let prefilled = 5_000
        let popBatch = 10
        let connector = try LocalConnector(filePath: filePath)
        try connector.push(queue: "drain", items: (0..<prefilled).map { Array("old-\($0)".utf8) }, priority: .normal, consumableFrom: nil)
        let pushers = try (0..<3).map { try spawn("push", "pusher\($0)", batch: 10) }
        let poppers = try (0..<2).map { try spawn("pop", "popper\($0)", queue: "drain", batch: popBatch) }
        XCTAssertTrue(try connector.keySet("go", value: []))
        try waitUntil(timeout: 60, "every child to get going") {
            (0..<3).allSatisfy { recorded("pusher\($0)").count >= 20 } && (0..<2).contains { recorded("popper\($0)").count >= 20 }
        }
        for child in pushers + poppers { child.signal(SIGKILL) }
        for child in pushers + poppers { XCTAssertEqual(child.wait(timeout: 10), 128 + SIGKILL) }

        XCTAssertEqual(try inspectWithPython(filePath, "print(db.execute('PRAGMA integrity_check').fetchone()[0])"), ["ok"])
        let reopened = try LocalConnector(filePath: filePath)
        // Each pusher recorded how many items it had pushed after every commit; one more
        // batch may have been committed just before the kill, none may be missing.
        let items = try reopened.pop(queue: "items", count: 1_000_000).map { String(decoding: $0, as: UTF8.self) }
        for pusher in 0..<3 {
            let committed = Int(recorded("pusher\(pusher)").last ?? "") ?? -1
            let stored = items.filter { $0.hasPrefix("pusher\(pusher)-") }
            XCTAssertTrue((committed...committed + 10).contains(stored.count), "pusher \(pusher): \(committed) committed, \(stored.count) stored")
            XCTAssertEqual(stored, (0..<stored.count).map { "pusher\(pusher)-\($0)" }, "pusher \(pusher): in order, without a gap")
        }
        // Popped items are gone and the rest are still there; each popper may have lost only
        // the batch it popped but had not recorded yet.
        let popped = (0..<2).flatMap { recorded("popper\($0)") }
        let remaining = try reopened.pop(queue: "drain", count: 1_000_000).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertEqual(Set(popped).count, popped.count, "no item popped twice")
        XCTAssertTrue(Set(popped).isDisjoint(with: remaining), "no popped item left in the queue")
        XCTAssertTrue(Set(popped + remaining).isSubset(of: Set((0..<prefilled).map { "old-\($0)" })))
        XCTAssertLessThanOrEqual(prefilled - popped.count - remaining.count, 2 * popBatch)
        try reopened.push(queue: "after", items: [[1]], priority: .normal, consumableFrom: nil)
        XCTAssertEqual(try reopened.pop(queue: "after", count: 1), [[1]])
    }
}

// MARK: - LocalChildProcess

/// The child side of ``LocalConnectorProcessTests``: skipped in a normal run, it plays the
/// role in `SERGEANT_LOCAL_CHILD` when the test bundle is started as a child process.
///
/// Children wait for the `go` key, then:
/// - `push`: pushes `NAME-0`, `NAME-1`… (`SERGEANT_LOCAL_COUNT` of them, 0 for ever) in
///   batches, recording the number pushed after each commit.
/// - `pop`: pops batches and records every item, until the `stop` key is set and the queue
///   is empty (or for ever when no one sets it).
/// - `alo`: as `pop`, at least once: a heartbeat, then in-flight pops for worker NAME.
final class LocalChildProcess: XCTestCase {
    func testRunAsChildProcess() throws {
        let environment = ProcessInfo.processInfo.environment
        guard let role = environment["SERGEANT_LOCAL_CHILD"], let path = environment["SERGEANT_LOCAL_FILE"],
              let recordPath = environment["SERGEANT_LOCAL_RECORD"] else {
            throw XCTSkip("runs only as a child process of LocalConnectorProcessTests")
        }
        let queue = environment["SERGEANT_LOCAL_QUEUE"] ?? "items"
        let name = environment["SERGEANT_LOCAL_NAME"] ?? "child"
        let count = Int(environment["SERGEANT_LOCAL_COUNT"] ?? "") ?? 0
        let batch = max(1, Int(environment["SERGEANT_LOCAL_BATCH"] ?? "") ?? 1)
        let start = environment["SERGEANT_LOCAL_START"] ?? "go"
        let record = open(recordPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard record >= 0 else { throw SupportError("cannot open \(recordPath)") }
        defer { close(record) }
        /// One write(2) per record, so a kill never leaves half of one behind unnoticed.
        func note(_ lines: [String]) {
            guard !lines.isEmpty else { return }
            let text = lines.joined(separator: "\n") + "\n"
            _ = text.withCString { write(record, $0, strlen($0)) }
        }

        let connector = try LocalConnector(filePath: path)
        // Every child starts when the parent sets `go`, so that they all run at once; the
        // parent sets it once every child said it is here (`ready-NAME`).
        _ = try connector.keySet("ready-\(name)", value: [])
        let deadline = unixTime() + 60
        while try connector.keyGet(start) == nil {
            guard unixTime() < deadline else { throw SupportError("no \(start) key after 60 s") }
            usleep(200)
        }
        switch role {
        case "push":
            var pushed = 0
            while count == 0 || pushed < count {
                let size = count == 0 ? batch : min(batch, count - pushed)
                try connector.push(queue: queue, items: (pushed..<pushed + size).map { Array("\(name)-\($0)".utf8) },
                                   priority: .normal, consumableFrom: nil)
                pushed += size
                note([String(pushed)])
            }
        case "alo":
            // At-least-once, as a worker: its heartbeat, then in-flight pops, each of which
            // acknowledges the batch before.
            let keys = KeySpace(queue: queue)
            try connector.heartbeat(keys, worker: name, ttl: 60)
            var stopping = false
            while true {
                let items = try connector.pop(keys, count: batch, inFlightFor: name)
                note(items.map { String(decoding: $0, as: UTF8.self) })
                guard items.isEmpty else { continue }
                if stopping { break }
                if try connector.keyGet("stop") != nil { stopping = true } else { usleep(1_000) }
            }
        case "pop":
            var stopping = false
            while true {
                let items = try connector.pop(queue: queue, count: batch)
                note(items.map { String(decoding: $0, as: UTF8.self) })
                guard items.isEmpty else { continue }
                // Drain once more after seeing the stop key: pushes may have landed meanwhile.
                if stopping { break }
                if try connector.keyGet("stop") != nil { stopping = true } else { usleep(1_000) }
            }
        default:
            XCTFail("unknown role \(role)")
        }
    }
}
