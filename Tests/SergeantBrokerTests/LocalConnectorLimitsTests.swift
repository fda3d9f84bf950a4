import Foundation
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// The local connector at the limits of its file system: a full disk and a read-only file
/// system, on a small tmpfs mounted for the test (root only, as in CI; skipped elsewhere).
/// Every push and pop either succeeds or fails with a matchable ``BrokerError/Kind`` that
/// says what to do, and nothing is lost or half-written.
final class LocalConnectorLimitsTests: XCTestCase {
    var mountPoint: URL!
    var mounted = false
    var filePath: String { mountPoint.appendingPathComponent("queue.sqlite3").path }

    override func setUpWithError() throws {
        try super.setUpWithError()
        mountPoint = try makeTemporaryDirectory()
    }

    override func tearDown() {
        if mounted { _ = try? ChildProcess.run([tool("umount"), "-l", mountPoint.path]) }
        try? FileManager.default.removeItem(at: mountPoint)
        super.tearDown()
    }

    /// The path of mount(8) or umount(8).
    func tool(_ name: String) -> String {
        ["/usr/bin/", "/bin/", "/usr/sbin/", "/sbin/"].map { $0 + name }.first(where: FileManager.default.isExecutableFile) ?? name
    }

    /// Mounts a tmpfs of `size` (mount(8) options) on the test's directory, or skips.
    func mountTmpfs(_ options: String) throws {
        try XCTSkipIf(geteuid() != 0, "mounting a tmpfs needs root (CI runs as root)")
        let result = try ChildProcess.run([tool("mount"), "-t", "tmpfs", "-o", options, "tmpfs", mountPoint.path])
        try XCTSkipIf(result.code != 0, "mount -t tmpfs failed here: \(result.output)")
        mounted = true
    }

    func items(_ range: Range<Int>) -> [[UInt8]] {
        // 2 KB each, the number first: incompressible enough that pages fill.
        range.map { number in Array("\(number):".utf8) + (0..<2_048).map { UInt8(truncatingIfNeeded: ($0 &* 7919) ^ (number &* 31)) } }
    }

    func number(_ item: [UInt8]) -> Int? {
        item.firstIndex(of: UInt8(ascii: ":")).flatMap { Int(String(decoding: item[..<$0], as: UTF8.self)) }
    }

    /// Runs `body`; the error it threw when it is a ``BrokerError`` of `kind`, nil when it
    /// succeeded (any other error is thrown).
    func failure(of kind: BrokerError.Reason, _ body: () throws -> Void) throws -> BrokerError? {
        do {
            try body()
            return nil
        } catch let error as BrokerError where error.reason == kind {
            return error
        }
    }

    func testAFullDiskFailsPushesAndPopsClearlyAndLosesNothing() throws {
        try mountTmpfs("size=4m")
        // Room to free later: the WAL grows with every pop until a checkpoint, so draining
        // needs about as much room again as the tasks took.
        let filler = mountPoint.appendingPathComponent("filler").path
        XCTAssertTrue(FileManager.default.createFile(atPath: filler, contents: Data(count: 3 * 1024 * 1024)))
        let connector = try LocalConnector(filePath: filePath)
        let keys = KeySpace(queue: "q")
        var pushed: [Int] = []
        var full: BrokerError?
        var next = 0
        while full == nil && next < 10_000 {
            let batch = items(next..<next + 25)
            full = try failure(of: .storageFull) {
                try connector.push(queue: "q", items: batch, priority: .normal, consumableFrom: nil)
            }
            if full == nil { pushed += next..<next + 25 }
            next += 25
        }
        let error = try XCTUnwrap(full, "the disk never filled")
        XCTAssertEqual(error.reason, .storageFull)
        XCTAssertTrue(error.message.contains("push to q failed"), error.message)
        XCTAssertTrue(error.message.contains("the disk is full where \(filePath) is"), error.message)
        XCTAssertTrue(error.message.contains("nothing of it was written"), error.message)
        XCTAssertTrue(error.message.contains("Free space there"), error.message)
        XCTAssertGreaterThan(pushed.count, 0)

        // On the full disk, in-flight pops and pushes either work or say the disk is full.
        var popped: [Int] = []
        var failures = 0
        for round in 0..<20 {
            // The pattern form, as a caller would write it.
            do {
                popped += try connector.pop(keys, count: 10, inFlightFor: "w").compactMap(number)
            } catch BrokerError.storageFull {
                failures += 1
            } catch {
                throw error
            }
            let extra = items(50_000 + round..<50_001 + round)
            if try failure(of: .storageFull, { try connector.push(queue: "q", items: extra, priority: .normal, consumableFrom: nil) }) == nil {
                pushed.append(50_000 + round)
            } else {
                failures += 1
            }
        }
        XCTAssertGreaterThan(failures, 0, "nothing failed on the full disk")

        // Space again: everything that was pushed is there once, nothing that failed is.
        try FileManager.default.removeItem(atPath: filler)
        try connector.acknowledge(keys, worker: "w")
        while case let batch = try connector.pop(queue: "q", count: 100), !batch.isEmpty { popped += batch.compactMap(number) }
        XCTAssertEqual(popped.sorted(), pushed.sorted(), "every pushed task once, no failed push half-written")
        XCTAssertEqual(try connector.inFlightItems(queue: "q").count, 0)
        XCTAssertEqual(try inspectWithPython(filePath, "print(db.execute('PRAGMA integrity_check').fetchone()[0])"), ["ok"])
    }

    func testAReadOnlyFileSystemIsAClearErrorOnPushAndPop() throws {
        try mountTmpfs("size=4m")
        do {
            let connector = try LocalConnector(filePath: filePath)
            try connector.push(queue: "q", items: items(0..<3), priority: .normal, consumableFrom: nil)
        }
        let remount = try ChildProcess.run([tool("mount"), "-o", "remount,ro", mountPoint.path])
        XCTAssertEqual(remount.code, 0, remount.output)
        for operation in ["push", "pop"] {
            let error = try failure(of: .storageNotWritable) {
                let connector = try LocalConnector(filePath: filePath)
                if operation == "push" {
                    try connector.push(queue: "q", items: items(3..<4), priority: .normal, consumableFrom: nil)
                } else {
                    _ = try connector.pop(KeySpace(queue: "q"), count: 1, inFlightFor: "w")
                }
            }
            let message = try XCTUnwrap(error, "\(operation) on a read-only file system succeeded").message
            XCTAssertTrue(message.contains("\(filePath) is not writable"), message)
            XCTAssertTrue(message.contains("fix the permissions"), message)
        }
        // Writable again: the three tasks are all there.
        XCTAssertEqual(try ChildProcess.run([tool("mount"), "-o", "remount,rw", mountPoint.path]).code, 0)
        XCTAssertEqual(try LocalConnector(filePath: filePath).pop(queue: "q", count: 10).compactMap(number), [0, 1, 2])
    }
}
