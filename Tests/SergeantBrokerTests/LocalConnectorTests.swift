import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// The shared connector behaviour on the local connector (a fresh SQLite file per test), plus
/// what only it has: several connections on one file, errors about the file itself, and
/// threads popping concurrently.
final class LocalConnectorTests: ConnectorBehaviourTests {
    var directory: URL!
    var filePath: String { directory.appendingPathComponent("queue.sqlite3").path }


    override func makeBroker(encoder: TaskEncoder) throws -> Broker {
        Broker(connector: try LocalConnector(filePath: filePath), encoder: encoder)
    }

    override func heldBy(_ worker: String, queue: String) throws -> [[UInt8]] {
        try LocalConnector(filePath: filePath).inFlightItems(queue: queue).filter { $0.worker == worker }.map(\.item)
    }

    override func expireHeartbeat(_ worker: String, queue: String) throws {
        try LocalConnector(filePath: filePath).database.run("UPDATE sergeant_heartbeats SET expires_at = 0 WHERE queue = ?1 AND worker = ?2",
                                                            [.text(queue), .text(worker)])
    }

    override func setUpWithError() throws {
        directory = try makeTemporaryDirectory()
        try super.setUpWithError()
    }

    override func tearDown() {
        super.tearDown()
        try? FileManager.default.removeItem(at: directory)
    }

    // MARK: Several connections

    func testTwoBrokersOnOneFileSeeEachOthersTasks() throws {
        let other = try makeBroker(encoder: TaskEncoder())
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        try other.push(tasks: [task(3)], queue: "q")
        try other.push(tasks: [task(0)], queue: "q", priority: .high)
        XCTAssertEqual(try other.count(queue: "q", includeDelayed: false), 4)
        XCTAssertEqual(numbers(try other.pop(queue: "q", count: 2).tasks), [0, 1])
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5).tasks), [2, 3])
        XCTAssertTrue(try other.withConnector { connector throws(BrokerError) in try connector.keySet("k", value: [4]) })
        XCTAssertEqual(try raw { connector throws(BrokerError) in try connector.keyGet("k") }, [4])
    }

    func testItemsOutliveTheConnection() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        try broker.push(tasks: [task(2)], queue: "q", consumableFrom: unixTime() - 1)
        broker = nil
        let reopened = try makeBroker(encoder: TaskEncoder())
        XCTAssertEqual(numbers(try reopened.pop(queue: "q", count: 5).tasks), [1, 2])
    }

    func testBrokerFromAWorkerConfiguration() throws {
        let config = WorkerConfig(name: "w", connector: .local(filePath: filePath))
        let configured = try Broker(config: config, logger: logger)
        try configured.push(tasks: [task(5)], queue: "w")
        XCTAssertEqual(numbers(try broker.pop(queue: "w", count: 1).tasks), [5], "the configured file is the one used")
    }

    func testBrokerWithoutAFilePathUsesTheDefaultFileInTMPDIR() throws {
        let previous = getenv("TMPDIR").map { String(cString: $0) }
        setenv("TMPDIR", directory.path, 1)
        defer {
            if let previous { setenv("TMPDIR", previous, 1) } else { unsetenv("TMPDIR") }
        }
        let config = WorkerConfig(name: "w", connector: ConnectorConfig(type: .local, params: .init()))
        let configured = try Broker(config: config, logger: logger)
        try configured.push(tasks: [task(5)], queue: "w")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent("sergeant_default_db.sqlite3").path))
    }

    // MARK: The file

    func testTheFileIsInWALModeWithTheSchemaAndIntact() throws {
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        try broker.push(tasks: [task(3)], queue: "q", consumableFrom: unixTime() + 60)
        let report = try inspectWithPython(filePath, """
            print(db.execute('PRAGMA journal_mode').fetchone()[0])
            print(db.execute('PRAGMA integrity_check').fetchone()[0])
            print(','.join(r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")))
            print(db.execute("SELECT count(*) FROM sergeant_queue WHERE queue = 'q'").fetchone()[0])
            print(db.execute("SELECT count(*) FROM sergeant_delayed WHERE queue = 'q'").fetchone()[0])
            """)
        XCTAssertEqual(report, ["wal", "ok", "sergeant_deaths,sergeant_delayed,sergeant_heartbeats,sergeant_in_flight,sergeant_keys,sergeant_locks,sergeant_queue,sergeant_reclaimed,sergeant_throughput", "2", "1"])
    }

    func testAFileThatIsNotADatabaseIsAClearError() throws {
        let path = directory.appendingPathComponent("not-a-db").path
        try String(repeating: "this is not an SQLite file\n", count: 200).write(toFile: path, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try LocalConnector(filePath: path)) { error in
            XCTAssertTrue("\(error)".contains("\(path) is not an SQLite database"), "\(error)")
        }
    }

    func testACorruptFileIsAClearError() throws {
        let path = directory.appendingPathComponent("corrupt.sqlite3").path
        do {
            let connector = try LocalConnector(filePath: path)
            try connector.push(queue: "q", items: (0..<2_000).map { Array("item \($0)".utf8) }, priority: .normal, consumableFrom: nil)
        }
        // Keep the header, overwrite the pages after the first with noise.
        let handle = try XCTUnwrap(FileHandle(forUpdatingAtPath: path))
        handle.seek(toFileOffset: 4096)
        handle.write(Data((0..<16_384).map { UInt8(truncatingIfNeeded: $0 &* 97 &+ 13) }))
        handle.closeFile()
        XCTAssertThrowsError(try {
            let connector = try LocalConnector(filePath: path)
            _ = try connector.pop(queue: "q", count: 2_000)
        }()) { error in
            XCTAssertTrue("\(error)".contains("\(path) is"), "\(error)")
            XCTAssertTrue("\(error)".contains("corrupt") || "\(error)".contains("not an SQLite database"), "\(error)")
        }
    }

    func testAMissingDirectoryIsAClearError() throws {
        let path = directory.appendingPathComponent("missing/queue.sqlite3").path
        XCTAssertThrowsError(try LocalConnector(filePath: path)) { error in
            XCTAssertTrue("\(error)".contains("the directory \(directory.path)/missing does not exist"), "\(error)")
        }
    }

    func testADirectoryIsAClearError() throws {
        XCTAssertThrowsError(try LocalConnector(filePath: directory.path)) { error in
            XCTAssertTrue("\(error)".contains("\(directory.path)"), "\(error)")
        }
    }

    func testAReadOnlyFileIsAClearError() throws {
        try XCTSkipIf(geteuid() == 0, "root writes read-only files")
        let path = directory.appendingPathComponent("read-only.sqlite3").path
        _ = try LocalConnector(filePath: path)
        chmod(path, 0o444)
        XCTAssertThrowsError(try LocalConnector(filePath: path).push(queue: "q", items: [[1]], priority: .normal, consumableFrom: nil)) { error in
            XCTAssertTrue("\(error)".contains("not writable"), "\(error)")
            XCTAssertEqual((error as? BrokerError)?.reason, .storageNotWritable)
        }
    }

    func testAnEmptyPathIsRefused() throws {
        XCTAssertThrowsError(try LocalConnector(filePath: "")) { error in
            XCTAssertTrue("\(error)".contains("file_path is empty"), "\(error)")
        }
    }

    func testAFileLockedByAnotherConnectionWaitsThenFailsClearly() throws {
        // Another process holds the write lock (python's sqlite3, BEGIN IMMEDIATE) until the
        // test creates the release file.
        let release = filePath + ".release"
        let python = try ChildProcess(["/usr/bin/env", "python3", "-c", """
            import os, sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1], isolation_level=None)
            db.execute('BEGIN IMMEDIATE')
            print('locked', flush=True)
            deadline = time.time() + 60
            while not os.path.exists(sys.argv[2]) and time.time() < deadline:
                time.sleep(0.01)
            db.execute('ROLLBACK')
            """, filePath, release])
        defer { unlink(release) }
        try waitUntil(timeout: 10, "python to take the lock") { python.output.contains("locked") }
        let quick = try LocalConnector(filePath: filePath, busyTimeout: 0.3)
        XCTAssertThrowsError(try quick.push(queue: "q", items: [[1]], priority: .normal, consumableFrom: nil)) { error in
            XCTAssertTrue("\(error)".contains("locked by another connection for more than 0.3 s"), "\(error)")
        }
        // Reads go on while the writer holds its lock (WAL).
        XCTAssertEqual(try quick.length(queue: "q", includeDelayed: true), 0)
        // A patient connection waits for the lock, and pushes once it is free.
        let patient = try LocalConnector(filePath: filePath, busyTimeout: 30)
        let pushed = Collected()
        let path = filePath
        let pusher = Thread {
            do {
                try LocalConnector(filePath: path, busyTimeout: 30).push(queue: "q", items: [[2]], priority: .normal, consumableFrom: nil)
                pushed.add(["pushed"])
            } catch {
                pushed.fail("\(error)")
            }
        }
        pusher.start()
        XCTAssertEqual(try patient.length(queue: "q", includeDelayed: true), 0)
        XCTAssertEqual(pushed.items, [], "the push went through a held lock")
        XCTAssertTrue(python.isRunning, "python still holds the lock")
        XCTAssertTrue(FileManager.default.createFile(atPath: release, contents: nil))
        try waitUntil(timeout: 30, "the waiting push to go through") { pushed.items == ["pushed"] || !pushed.errors.isEmpty }
        XCTAssertEqual(pushed.errors, [])
        XCTAssertEqual(try patient.pop(queue: "q", count: 5), [[2]])
        XCTAssertEqual(python.wait(timeout: 10), 0, python.output)
    }

    // MARK: Concurrency

    func testFourThreadsPopEveryItemExactlyOnce() throws {
        let total = 2_000
        try raw { connector throws(BrokerError) in
            try connector.push(queue: "q", items: (0..<total).map { Array(String($0).utf8) }, priority: .normal, consumableFrom: nil)
        }
        let collected = Collected()
        let path = filePath
        runThreads(4) { index in
            do {
                let connector = try LocalConnector(filePath: path)
                let batch = [1, 3, 17, 64][index]
                while case let items = try connector.pop(queue: "q", count: batch), !items.isEmpty {
                    collected.add(items.map { String(decoding: $0, as: UTF8.self) })
                }
            } catch {
                collected.fail("\(error)")
            }
        }
        XCTAssertEqual(collected.errors, [])
        XCTAssertEqual(collected.items.count, total, "no item popped twice")
        XCTAssertEqual(Set(collected.items), Set((0..<total).map(String.init)), "every item popped")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 0)
    }

    func testThreadsPushAndPopAtOnce() throws {
        let perPusher = 500
        let collected = Collected()
        let pushersDone = Collected()
        let path = filePath
        runThreads(4) { index in
            do {
                let connector = try LocalConnector(filePath: path)
                if index < 2 {
                    for number in 0..<perPusher {
                        let priority: TaskPriority = number % 5 == 0 ? .high : .normal
                        try connector.push(queue: "q", items: [Array("\(index)-\(number)".utf8)], priority: priority, consumableFrom: nil)
                    }
                    pushersDone.add(["done"])
                    return
                }
                while true {
                    let items = try connector.pop(queue: "q", count: 10)
                    collected.add(items.map { String(decoding: $0, as: UTF8.self) })
                    if items.isEmpty {
                        if pushersDone.items.count == 2, try connector.length(queue: "q", includeDelayed: true) == 0 { return }
                        usleep(200)
                    }
                }
            } catch {
                collected.fail("\(error)")
            }
        }
        XCTAssertEqual(collected.errors, [])
        XCTAssertEqual(collected.items.count, 2 * perPusher, "no item popped twice")
        XCTAssertEqual(Set(collected.items), Set((0..<2).flatMap { pusher in (0..<perPusher).map { "\(pusher)-\($0)" } }))
    }
}

// MARK: - Helpers

/// Strings gathered from several threads.
final class Collected: @unchecked Sendable {
    private let lock = Mutex()
    private var storedItems: [String] = []
    private var storedErrors: [String] = []

    /// Adds items.
    func add(_ items: [String]) {
        lock.withLock { storedItems += items }
    }

    /// Records a failure.
    func fail(_ message: String) {
        lock.withLock { storedErrors.append(message) }
    }

    /// Everything added so far.
    var items: [String] { lock.withLock { storedItems } }

    /// Every failure so far.
    var errors: [String] { lock.withLock { storedErrors } }
}

/// Runs `body(index)` on `count` threads at once and waits for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.start()
    }
    group.wait()
}

/// A new empty directory under the temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-local-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}

/// Runs `script` in python3 with `db`, an sqlite3 connection to `path` (the sqlite3 module
/// only reads the file here); returns the lines it printed.
func inspectWithPython(_ path: String, _ script: String) throws -> [String] {
    _ = try which("python3")
    let result = try ChildProcess.run(["/usr/bin/env", "python3", "-c", "import sqlite3, sys\ndb = sqlite3.connect(sys.argv[1])\n" + script, path])
    guard result.code == 0 else { throw SupportError("python3 failed (\(result.code)):\n\(result.output)") }
    return result.output.split(separator: "\n").map(String.init)
}

// MARK: - Throughput rows

extension LocalConnectorTests {
    /// The local connector's throughput table stays bounded: the write that adds a bucket
    /// deletes the queue's rows older than the hour.
    func testTheThroughputTableKeepsAtMostAnHourOfRowsPerQueue() throws {
        let now = unixTime()
        for age in stride(from: 2 * RateBuckets.history, through: 0, by: -1) {
            var counts = OutcomeCounts()
            counts.processed = 1
            broker.record(counts, queue: "q", at: now - Double(age) * RateBuckets.width)
            if age % 50 == 0 { try broker.flushCounts() }
        }
        try broker.flushCounts()
        var rows = 0
        try LocalConnector(filePath: filePath).database.run("SELECT count(*) FROM sergeant_throughput WHERE queue = 'q'") { rows = Int($0.int(0)) }
        XCTAssertLessThanOrEqual(rows, RateBuckets.history + 1)
        XCTAssertGreaterThanOrEqual(rows, RateBuckets.history)
        XCTAssertEqual(try broker.throughput(queues: ["q"], at: now).reduce(0) { $0 + $1.processed }, RateBuckets.history)
    }
}
