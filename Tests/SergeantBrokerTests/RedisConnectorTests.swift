import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// The shared connector behaviour, plus what only Redis has (reconnects, passwords, sergeant's
/// key names), against a real redis-server on a free port.
final class RedisConnectorTests: ConnectorBehaviourTests {
    var server: RedisServer!

    override func makeBroker(encoder: TaskEncoder) throws -> Broker {
        if server == nil { server = try RedisServer() }
        return Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: encoder)
    }

    override func tearDown() {
        super.tearDown()
        server = nil
    }

    override func heldBy(_ worker: String, queue: String) throws -> [[UInt8]] {
        let keys = KeySpace(queue: queue)
        let inspector = RedisConnection(node: server.node, logger: logger)
        return try [keys.processing(worker), keys.reclaimed(worker)].flatMap { key -> [[UInt8]] in
            guard case .array(let items) = try inspector.command("LRANGE", key, "0", "-1") else { return [] }
            return items.compactMap { if case .bytes(let bytes) = $0 { bytes } else { nil } }
        }
    }

    override func expireHeartbeat(_ worker: String, queue: String) throws {
        _ = try server.command("DEL", KeySpace(queue: queue).heartbeat(worker))
    }

    func testStorageUsesSergeantsRedisNames() throws {
        try broker.push(tasks: (0..<5).map(task), queue: "q")
        XCTAssertEqual(try server.command("LLEN", "q"), ":5", "one RPUSH stores all five")
        try broker.push(tasks: [task(6)], queue: "q", consumableFrom: unixTime() + 60)
        XCTAssertEqual(try server.command("ZCARD", "q.delayed"), ":1")
        try raw { connector throws(BrokerError) in
            try connector.push(queue: "bad", items: [[0xc1]], priority: .normal, consumableFrom: nil)
        }
        XCTAssertEqual(try broker.pop(queue: "bad", count: 1).rejected.count, 1)
        XCTAssertEqual(try server.command("LLEN", "bad.dead"), ":1")
        try raw { connector throws(BrokerError) in
            XCTAssertTrue(try connector.lockTryAcquire("job", ttl: 60))
        }
        XCTAssertEqual(try server.command("EXISTS", "__lock__.job"), ":1")
        try raw { connector throws(BrokerError) in
            XCTAssertTrue(try connector.lockRelease("job"))
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

    func testARequeueWhoseConnectionDropsHalfwayLosesAndDuplicatesNothing() throws {
        let total = 3_500
        let tasks = (0..<total).map { task($0).messagePack() }
        try broker.setAside(tasks.map { DeadLetter(task: $0, reason: "poison").encoded }, queue: "q")
        let connector = try XCTUnwrap(broker.connector as? RedisConnector)
        let failing = FailingTransport.install(on: connector.connections[0])
        var seen = 0
        // In the second batch, the connection drops after the transaction was sent and before
        // its reply: the command fails, and says so.
        XCTAssertThrowsError(try broker.withConnector { raw throws(BrokerError) in
            try raw.moveAll(from: "q.dead", to: "q", batch: 1_000) { entry in
                seen += 1
                if seen == 1_500 { failing.next = .afterSending(unreachableFor: 0) }
                return .move((try? DeadLetter(entry: entry).task) ?? entry)
            }
        }) { error in XCTAssertTrue("\(error)".contains("run the command again"), "\(error)") }
        // The cut connection's bytes may still be on their way to the server: read both lists in
        // one transaction until they account for every task (a lost batch never would).
        let inspector = RedisConnection(node: server.node, logger: logger)
        var (queued, dead) = (0, 0)
        try waitUntil(timeout: 10, "every task to be in the queue or the dead letters") {
            let replies = try inspector.pipeline([["MULTI"], ["LLEN", "q"], ["LLEN", "q.dead"], ["EXEC"]].map { $0.map { Array($0.utf8) } })
            guard case .array(let counts) = replies.last, counts.count == 2 else { return false }
            (queued, dead) = (Int(counts[0].integer ?? 0), Int(counts[1].integer ?? 0))
            return queued + dead == total
        }
        // The first batch moved; the second one's transaction ran or not (its bytes were sent
        // as the connection was cut): never half of it.
        XCTAssertTrue([1_000, 2_000].contains(queued), "\(queued) in the queue")
        // Run again: the rest moves; every task is in the queue exactly once.
        // (The cut transaction may still run late: then WATCH makes the second pass read again.)
        XCTAssertLessThanOrEqual(try broker.requeueDeadLetters(queue: "q").requeued, dead)
        var back: [[UInt8]] = []
        while case let batch = try broker.pop(queue: "q", count: 1_000).tasks, !batch.isEmpty { back += batch.map(\.stored) }
        XCTAssertEqual(back, tasks)
        XCTAssertEqual(try server.command("EXISTS", "q.dead"), ":0")
    }
}
