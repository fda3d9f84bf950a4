import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// The Redis connector and broker against a real redis-server on a free port.
final class RedisConnectorTests: XCTestCase {
    var server: RedisServer!
    var broker: Broker!
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    override func setUpWithError() throws {
        server = try RedisServer()
        broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
    }

    override func tearDown() {
        broker = nil
        server = nil
    }

    func task(_ number: Int) -> SergeantTask {
        SergeantTask(kwargs: ["n": .int(Int64(number))])
    }

    func numbers(_ tasks: [PoppedTask]) -> [Int] {
        tasks.compactMap { $0.task.kwargs["n"]?.intValue }
    }

    func testPushPopPurgeCount() throws {
        try broker.push(tasks: (0..<5).map(task), queue: "q")
        XCTAssertEqual(try server.command("LLEN", "q"), ":5", "one RPUSH stores all five")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: false), 5)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 1).tasks), [0])
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 3).tasks), [1, 2, 3])
        XCTAssertTrue(try broker.purge(queue: "q"))
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 0)
        XCTAssertTrue(try broker.pop(queue: "q", count: 10).tasks.isEmpty)
        XCTAssertFalse(try broker.purge(queue: "q"))
    }

    func testHighPriorityGoesFirst() throws {
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        try broker.push(tasks: [task(9)], queue: "q", priority: .high)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 3).tasks), [9, 1, 2])
    }

    func testDelayedTasksWaitUntilDue() throws {
        try broker.push(tasks: [task(1)], queue: "q", consumableFrom: unixTime() + 0.3)
        try broker.push(tasks: [task(2)], queue: "q", consumableFrom: unixTime() - 1)
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: false), 1, "only the due one counts")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 2)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5).tasks), [2])
        var got: [Int] = []
        try waitUntil(timeout: 5, "the delayed task") {
            got += numbers(try broker.pop(queue: "q", count: 5).tasks)
            return !got.isEmpty
        }
        XCTAssertEqual(got, [1])
    }

    func testCompressedTasksAreStoredCompressed() throws {
        let zlib = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder(compressor: .zlib))
        try zlib.push(tasks: [task(7)], queue: "z")
        let stored = try XCTUnwrap(try zlib.withConnector { connector throws(BrokerError) in try connector.pop(queue: "z", count: 1) }.first)
        XCTAssertEqual(stored.first, 0x78, "zlib header")
        try zlib.withConnector { connector throws(BrokerError) in try connector.push(queue: "z", items: [stored], priority: .normal, consumableFrom: nil) }
        XCTAssertEqual(numbers(try zlib.pop(queue: "z", count: 1).tasks), [7])
    }

    func testUndecodableBytesGoToTheDeadLetterListAndNothingIsLost() throws {
        try broker.withConnector { connector throws(BrokerError) in
            try connector.push(queue: "q", items: [[0xc1, 0x00], Array("garbage".utf8)], priority: .normal, consumableFrom: nil)
        }
        try broker.push(tasks: [task(3)], queue: "q")
        let popped = try broker.pop(queue: "q", count: 10)
        XCTAssertEqual(numbers(popped.tasks), [3])
        XCTAssertEqual(popped.rejected.count, 2)
        XCTAssertEqual(try server.command("LLEN", "q.dead"), ":2")
        let dead = try XCTUnwrap(try broker.withConnector { connector throws(BrokerError) in try connector.pop(queue: "q.dead", count: 1) }.first)
        let entry = try MessagePack.decode(dead)
        XCTAssertEqual(entry["task"], .bytes([0xc1, 0x00]))
        XCTAssertTrue(entry["reason"]?.stringValue?.contains("msgpack") == true)
    }

    func testKeysAndLocksUseSergeantsNames() throws {
        try broker.withConnector { connector throws(BrokerError) in
            XCTAssertTrue(try connector.keySet("k", value: [1, 2]))
            XCTAssertFalse(try connector.keySet("k", value: [3]))
            XCTAssertEqual(try connector.keyGet("k"), [3])
            XCTAssertTrue(try connector.keyDelete("k"))
            XCTAssertNil(try connector.keyGet("k"))

            XCTAssertTrue(try connector.lockTryAcquire("job", ttl: 60))
            XCTAssertFalse(try connector.lockTryAcquire("job", ttl: 60))
            XCTAssertTrue(try connector.lockIsLocked("job"))
            XCTAssertEqual(try connector.lockGetTTL("job"), 60)
            XCTAssertTrue(try connector.lockSetTTL("job", ttl: 5))
            XCTAssertLessThanOrEqual(try connector.lockGetTTL("job") ?? 99, 5)
            XCTAssertTrue(try connector.lockRelease("job"))
            XCTAssertFalse(try connector.lockIsLocked("job"))
            XCTAssertNil(try connector.lockGetTTL("job"))
        }
        XCTAssertEqual(try server.command("EXISTS", "__lock__.job"), ":0")
    }

    func testReconnectsAfterRedisRestarts() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        let port = server.port
        server.stop()
        // A new server on the same port comes up while the connector is backing off.
        let restarted = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var replacement: RedisServer?
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) {
            replacement = try? RedisServer(port: port)
            restarted.signal()
        }
        try broker.push(tasks: [task(2)], queue: "q")
        restarted.wait()
        XCTAssertNotNil(replacement)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5).tasks), [2], "the push after the restart was stored")
    }

    func testUnreachableRedisIsAClearErrorNotACrash() throws {
        let port = try freePort()
        let connector = RedisConnector(nodes: [RedisNode(host: "127.0.0.1", port: port)], logger: logger, reconnectTimeout: 0.3)
        XCTAssertThrowsError(try connector.push(queue: "q", items: [[1]], priority: .normal, consumableFrom: nil)) { error in
            XCTAssertTrue("\(error)".contains("unreachable"), "\(error)")
            XCTAssertTrue("\(error)".contains("\(port)"), "\(error)")
        }
    }

    func testPasswordIsSentAndNeverShown() throws {
        XCTAssertEqual(try server.command("CONFIG", "SET", "requirepass", "s3cret"), "+OK")
        let good = RedisConnector(nodes: [RedisNode(host: "127.0.0.1", port: server.port, password: "s3cret", database: 3)], logger: logger)
        try good.push(queue: "q", items: [[1]], priority: .normal, consumableFrom: nil)
        XCTAssertEqual(try good.length(queue: "q", includeDelayed: false), 1)
        let bad = RedisConnector(nodes: [RedisNode(host: "127.0.0.1", port: server.port, password: "wrong-pw")], logger: logger,
                                 reconnectTimeout: 0.2)
        XCTAssertThrowsError(try bad.length(queue: "q", includeDelayed: false)) { error in
            XCTAssertFalse("\(error)".contains("wrong-pw"), "\(error)")
        }
    }
}
