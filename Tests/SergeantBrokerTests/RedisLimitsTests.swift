import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// Redis settings that lose tasks are warned about (``RedisServerCheck``), and a Redis out of
/// memory refuses a push loudly, against real redis-servers started with those settings.
final class RedisLimitsTests: XCTestCase {
    var server: RedisServer!
    let logs = CapturedLogs()
    var logger: Logger { logs.logger }

    override func tearDown() {
        server = nil
    }

    func broker(reconnectTimeout: Double = 30) -> (Broker, RedisConnector) {
        let connector = RedisConnector(nodes: [server.node], logger: logger, reconnectTimeout: reconnectTimeout)
        return (Broker(connector: connector, encoder: TaskEncoder()), connector)
    }

    func task(_ n: Int, padding: Int = 0) -> SergeantTask {
        SergeantTask(kwargs: ["n": .int(Int64(n)), "pad": .string(Self.random(padding))])
    }

    /// Text that does not compress.
    static func random(_ count: Int) -> String {
        String((0..<count).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
    }

    // MARK: Settings

    func testAnEvictingRedisThatPersistsNothingIsWarnedAboutOncePerConnection() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory-policy", "allkeys-lru"]))
        let (broker, connector) = broker()
        try broker.push(tasks: [task(1)], queue: "q")
        _ = try broker.pop(queue: "q", count: 1)
        _ = try broker.count(queue: "q", includeDelayed: true)
        let warnings = logs.entries.filter { $0.level == .warning }
        XCTAssertEqual(warnings.map(\.message), [
            RedisServerCheck.evictionWarning(node: server.node, policy: "allkeys-lru"),
            RedisServerCheck.persistenceWarning(node: server.node),
        ])
        XCTAssertTrue(warnings[0].message.contains("CONFIG SET maxmemory-policy noeviction"), warnings[0].message)
        XCTAssertTrue(warnings[0].message.contains("redis.conf"), warnings[0].message)
        XCTAssertTrue(warnings[1].message.contains("a restart of Redis loses every queued task"), warnings[1].message)
        XCTAssertEqual(warnings.map { $0.metadata["node"] }, Array(repeating: "\(server.node)", count: 2))
        let check = try XCTUnwrap(connector.connections[0].serverCheck)
        XCTAssertEqual(check.evictionPolicy, "allkeys-lru")
        XCTAssertTrue(check.evictsKeys)
        XCTAssertTrue(check.persistsNothing)
        XCTAssertNotNil(check.runID)
        XCTAssertEqual(connector.serverChecks.map(\.node), [server.node])
        XCTAssertEqual(connector.serverChecks.map(\.check), [check])
    }

    func testNoevictionWithAnAppendOnlyFileSaysNothing() throws {
        server = try RedisServer(options: .init(appendOnly: true, extraArguments: ["--maxmemory-policy", "noeviction"]))
        let (broker, connector) = broker()
        try broker.push(tasks: [task(1)], queue: "q")
        XCTAssertEqual(logs.entries.filter { $0.level >= .warning }.map(\.message), [])
        let check = try XCTUnwrap(connector.connections[0].serverCheck)
        XCTAssertEqual(check, RedisServerCheck(evictionPolicy: "noeviction", saveRules: "", appendOnly: true, runID: check.runID))
        XCTAssertFalse(check.evictsKeys)
        XCTAssertFalse(check.persistsNothing)
    }

    func testARedisThatRefusesConfigIsFine() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory-policy", "allkeys-lru", "--rename-command", "CONFIG", ""]))
        let (broker, connector) = broker()
        try broker.push(tasks: [task(1)], queue: "q")
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 1).tasks), [1])
        XCTAssertEqual(logs.entries.filter { $0.level >= .warning }.map(\.message), [])
        XCTAssertTrue(logs.entries.contains { $0.level == .debug && $0.message.contains("refused CONFIG GET") })
        let check = try XCTUnwrap(connector.connections[0].serverCheck)
        XCTAssertFalse(check.configReadable)
        XCTAssertFalse(check.evictsKeys)
        XCTAssertFalse(check.persistsNothing)
    }

    func testARestartOfARedisThatPersistsNothingIsLoggedAsAPossibleLoss() throws {
        server = try RedisServer()
        let (broker, connector) = broker()
        try broker.push(tasks: [task(1)], queue: "q")
        let before = try XCTUnwrap(connector.connections[0].serverCheck?.runID)
        XCTAssertFalse(logs.entries.contains { $0.message.contains("restarted") })
        server.stop()
        try server.start()
        try broker.push(tasks: [task(2)], queue: "q")
        let after = try XCTUnwrap(connector.connections[0].serverCheck?.runID)
        XCTAssertNotEqual(before, after)
        let restarts = logs.entries.filter { $0.message.contains("restarted") }
        XCTAssertEqual(restarts.map(\.message), [RedisServerCheck.restartWarning(node: server.node, from: before, to: after)])
        XCTAssertEqual(restarts.first?.level, .warning)
        XCTAssertTrue(restarts.first?.message.contains("the tasks queued there before the restart may be lost") ?? false)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5).tasks), [2], "task 1 was lost indeed")
    }

    func testARestartOfARedisWithAnAppendOnlyFileIsNoLoss() throws {
        server = try RedisServer(persistent: true)
        let (broker, _) = broker()
        try broker.push(tasks: [task(1)], queue: "q")
        server.stop()
        try server.start()
        try broker.push(tasks: [task(2)], queue: "q")
        XCTAssertFalse(logs.entries.contains { $0.message.contains("restarted") }, "\(logs.entries.map(\.message))")
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5).tasks), [1, 2])
    }

    // MARK: Out of memory

    /// Pushes batches of `batch` tasks of 4 KB until Redis refuses one; returns how many went in and the error.
    func fill(_ broker: Broker, batch: Int) throws -> (pushed: Int, error: BrokerError) {
        var pushed = 0
        for round in 0..<10_000 {
            do throws(BrokerError) {
                try broker.push(tasks: (0..<batch).map { task(round * batch + $0, padding: 4_000) }, queue: "q")
                pushed += batch
            } catch {
                return (pushed, error)
            }
        }
        throw SupportError("2 MB of Redis took more than 10,000 pushes")
    }

    func assertOutOfMemory(_ error: BrokerError, count: Int, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(error.message.hasPrefix("redis is out of memory and refused the push of \(count) task(s) to q (OOM command not allowed"),
                      error.message, file: file, line: line)
        XCTAssertTrue(error.message.contains("nothing was pushed"), error.message, file: file, line: line)
        XCTAssertTrue(error.message.contains("raise maxmemory"), error.message, file: file, line: line)
    }

    func testABulkPushRefusedForLackOfMemoryIsAnErrorAndPushesNothing() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]))
        let (broker, _) = broker()
        let (pushed, error) = try fill(broker, batch: 20)
        XCTAssertGreaterThan(pushed, 0)
        assertOutOfMemory(error, count: 20)
        XCTAssertEqual(try server.command("LLEN", "q"), ":\(pushed)", "every push reported as done is in Redis, and no other")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), pushed)
        // A delayed push is refused the same way.
        XCTAssertThrowsError(try broker.push(tasks: [task(0)], queue: "q", consumableFrom: unixTime() + 60)) { error in
            assertOutOfMemory(error as! BrokerError, count: 1)
        }
        XCTAssertEqual(try server.command("ZCARD", "q.delayed"), ":0")
        XCTAssertEqual(logs.entries.filter { $0.level >= .warning }.map(\.message), [RedisServerCheck.persistenceWarning(node: server.node)],
                       "noeviction: no eviction warning, and a refused push is not retried")
    }

    func testASinglePushRefusedForLackOfMemoryIsAnError() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]))
        let (broker, connector) = broker()
        let (pushed, error) = try fill(broker, batch: 1)
        assertOutOfMemory(error, count: 1)
        XCTAssertEqual(try server.command("LLEN", "q"), ":\(pushed)")
        // The connector says the same to a caller that bypasses the broker.
        XCTAssertThrowsError(try connector.push(queue: "q", items: [task(0, padding: 4_000).messagePack()], priority: .high, consumableFrom: nil)) { error in
            assertOutOfMemory(error as! BrokerError, count: 1)
        }
        XCTAssertEqual(try server.command("LLEN", "q"), ":\(pushed)")
    }

    func numbers(_ tasks: [PoppedTask]) -> [Int] {
        tasks.compactMap { try? SergeantTask(messagePack: $0.messagePack).kwargs["n"]?.intValue }
    }
}

// MARK: - CapturedLogs

/// A swift-log handler that keeps every entry (at every level) for a test to read.
final class CapturedLogs: @unchecked Sendable {
    struct Entry {
        let level: Logger.Level
        let message: String
        let metadata: [String: String]
    }

    private let lock = NSLock()
    private var stored: [Entry] = []

    var entries: [Entry] { lock.withLock { stored } }

    var logger: Logger {
        var logger = Logger(label: "test") { _ in Handler(logs: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ entry: Entry) { lock.withLock { stored.append(entry) } }

    struct Handler: LogHandler {
        let logs: CapturedLogs
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            logs.append(Entry(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" }))
        }
    }
}
