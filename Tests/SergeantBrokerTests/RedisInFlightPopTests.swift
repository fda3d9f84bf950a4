import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// At-least-once pops of one task per transaction (`RedisConnector.popOne`: a MULTI/EXEC of
/// plain commands instead of the Lua script), against real redis-servers: what they record in
/// flight, what they acknowledge, that recovered and due delayed tasks are still served, and
/// that a lost reply neither loses nor duplicates a task.
final class RedisInFlightPopTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    var server: RedisServer!
    /// Every connector of a test loses connections only when its ``failing`` says so.
    var connector: RedisConnector! {
        didSet { if let connector { failing = FailingTransport.install(on: connector.connections[0]) } }
    }
    /// The transport of the connector's connection: arm it to lose the next round trip.
    var failing: FailingTransport!
    /// A connection of the test's own, to look at what the connector left in Redis.
    var inspector: RedisConnection!

    override func setUpWithError() throws {
        server = try RedisServer()
        connector = RedisConnector(nodes: [server.node], logger: logger)
        inspector = RedisConnection(node: server.node, logger: logger)
    }

    override func tearDown() {
        connector = nil
        failing = nil
        inspector = nil
        server = nil
    }

    // MARK: Helpers

    func push(_ values: [UInt8], to queue: String = "q") throws {
        try connector.push(queue: queue, items: values.map { [$0] }, priority: .normal, consumableFrom: nil)
    }

    func pop(_ worker: String = "w", from connector: RedisConnector? = nil) throws -> [UInt8] {
        try (connector ?? self.connector).pop(KeySpace(queue: "q"), count: 1, inFlightFor: worker).flatMap { $0 }
    }

    func list(_ key: String, on connection: RedisConnection? = nil) throws -> [UInt8] {
        guard case .array(let items) = try (connection ?? inspector).command("LRANGE", key, "0", "-1") else { return [] }
        return items.flatMap { item -> [UInt8] in
            if case .bytes(let bytes) = item { return bytes }
            return []
        }
    }

    /// Calls of a command since the server started (INFO commandstats).
    func calls(_ command: String, on connection: RedisConnection? = nil) throws -> Int {
        guard case .bytes(let info) = try (connection ?? inspector).command("INFO", "commandstats") else { return -1 }
        for line in String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline)
        where line.hasPrefix("cmdstat_\(command):calls=") {
            return Int(line.dropFirst("cmdstat_\(command):calls=".count).prefix { $0.isNumber }) ?? -1
        }
        return 0
    }

    // MARK: Tests

    func testSinglePopsRecordTheTaskInFlightAndAcknowledgeThePreviousOne() throws {
        try push([1, 2, 3, 4])
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try list("q.processing.w"), [1])
        let scripts = try calls("evalsha")
        XCTAssertEqual(try pop(), [2])
        XCTAssertEqual(try list("q.processing.w"), [2], "the pop acknowledged task 1")
        XCTAssertEqual(try inspector.command("SISMEMBER", "q.processing", "w"), .integer(1))
        XCTAssertEqual(try pop(), [3])
        XCTAssertEqual(try list("q.processing.w"), [3])
        XCTAssertEqual(try calls("evalsha"), scripts, "a pop from a non-empty queue runs no Lua")
        XCTAssertEqual(try calls("exec"), 2, "one transaction per pop")
        XCTAssertEqual(try pop(), [4])
        XCTAssertEqual(try pop(), [], "the queue is empty")
        XCTAssertEqual(try list("q.processing.w"), [], "the empty pop acknowledged task 4")
        XCTAssertEqual(try list("q"), [])
    }

    func batch(_ count: Int, _ worker: String = "w") throws -> [UInt8] {
        try connector.pop(KeySpace(queue: "q"), count: count, inFlightFor: worker).flatMap { $0 }
    }

    func testBatchPopsRecordTheirTasksInFlightInOrderAndAcknowledgeThePreviousBatch() throws {
        try push(Array(1...10))
        XCTAssertEqual(try batch(3), [1, 2, 3])
        let scripts = try calls("evalsha")
        XCTAssertEqual(try batch(3), [4, 5, 6])
        XCTAssertEqual(try list("q.processing.w"), [4, 5, 6], "the pop acknowledged 1, 2, 3 and recorded 4, 5, 6")
        XCTAssertEqual(try inspector.command("SISMEMBER", "q.processing", "w"), .integer(1))
        XCTAssertEqual(try batch(3), [7, 8, 9])
        XCTAssertEqual(try calls("evalsha"), scripts, "a batch from a non-empty queue runs no Lua")
        XCTAssertEqual(try list("q"), [10])
        XCTAssertEqual(try batch(3), [10], "what is left, when the queue holds fewer")
        XCTAssertEqual(try list("q.processing.w"), [10])
        XCTAssertEqual(try batch(3), [])
        XCTAssertEqual(try list("q.processing.w"), [], "the empty pop acknowledged task 10")
        XCTAssertEqual(try inspector.command("EXISTS", "q"), .integer(0))
    }

    func testLostReplyOfABatchTransactionThatRanReturnsItsTasks() throws {
        try push(Array(1...8))
        XCTAssertEqual(try batch(3), [1, 2, 3])
        XCTAssertEqual(try batch(3), [4, 5, 6])
        let transactions = try calls("exec")
        failing.next = .afterSending(unreachableFor: 0)
        XCTAssertEqual(try batch(3), [7, 8], "the tasks the transaction moved, once")
        XCTAssertEqual(try calls("exec"), transactions + 1, "the transaction was not sent again")
        XCTAssertEqual(try list("q.processing.w"), [7, 8])
        XCTAssertEqual(try batch(3), [])
        XCTAssertEqual(try list("q.processing.w"), [])
    }

    func testRecoveredTasksComeFirstAndAlone() throws {
        // Left by an earlier run: the first pop of a new connector serves it.
        _ = try inspector.command([Array("RPUSH".utf8), Array("q.recovered".utf8), [80]])
        try push([1, 2, 3, 4, 5])
        XCTAssertEqual(try pop(), [80])
        XCTAssertEqual(try list("q.processing.w"), [80])
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])

        // This process reclaims a dead worker's tasks (as Broker.recover does): they come next,
        // one per pop, each alone in flight.
        _ = try inspector.command([Array("RPUSH".utf8), Array("q.processing.dead".utf8), [90], [91]])
        _ = try inspector.command("SADD", "q.processing", "dead")
        let reclaimed = try connector.reclaim(KeySpace(queue: "q"), worker: "dead", alsoExpired: false, by: "w")
        XCTAssertEqual(reclaimed, [[90], [91]])
        try connector.push(queue: KeySpace(queue: "q").recovered, items: reclaimed, priority: .normal, consumableFrom: nil)
        XCTAssertEqual(try pop(), [90])
        XCTAssertEqual(try list("q.processing.w"), [90], "a recovered task is alone in flight")
        XCTAssertEqual(try pop(), [91])
        XCTAssertEqual(try list("q.processing.w"), [91])
        XCTAssertEqual(try pop(), [3])

        // Another process recovered a task: this worker learns of it from its next pop's reply
        // and serves it on the pop after, alone.
        let other = RedisConnector(nodes: [server.node], logger: logger)
        try other.push(queue: KeySpace(queue: "q").recovered, items: [[92]], priority: .normal, consumableFrom: nil)
        let next = [try pop(), try pop()]
        XCTAssertEqual(next, [[4], [92]])
        XCTAssertEqual(try list("q.processing.w"), [92], "a recovered task is alone in flight")
        XCTAssertEqual(try pop(), [5])
        XCTAssertEqual(try pop(), [])
        XCTAssertEqual(try inspector.command("EXISTS", "q.recovered"), .integer(0))
    }

    func testDueDelayedTasksAreServedWhenTheQueueIsEmpty() throws {
        try push([1, 2])
        try connector.push(queue: "q", items: [[7]], priority: .normal, consumableFrom: unixTime() - 1)
        try connector.push(queue: "q", items: [[8]], priority: .normal, consumableFrom: unixTime() + 60)
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])
        XCTAssertEqual(try pop(), [7], "the due delayed task, once the queue is empty")
        XCTAssertEqual(try list("q.processing.w"), [7])
        XCTAssertEqual(try pop(), [], "the other one is not due")
        XCTAssertEqual(try list("q.processing.w"), [])
        XCTAssertEqual(try inspector.command("ZCARD", "q.delayed"), .integer(1))
    }

    func testLostReplyOfATransactionThatRanReturnsItsTask() throws {
        try push([1, 2, 3, 4, 5])
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])
        let transactions = try calls("exec")
        // The transaction goes out whole and runs; the connection drops before its reply.
        failing.next = .afterSending(unreachableFor: 0)
        XCTAssertEqual(try pop(), [3], "the task the transaction moved, not the next one")
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertEqual(try calls("exec"), transactions + 1, "the transaction ran once: it was not sent again")
        XCTAssertEqual(try list("q.processing.w"), [3])
        XCTAssertEqual(try list("q"), [4, 5])
        XCTAssertEqual(try pop(), [4])
        XCTAssertEqual(try list("q.processing.w"), [4])
        XCTAssertEqual(try pop(), [5])
        XCTAssertEqual(try pop(), [])
    }

    func testConnectionLostBeforeTheTransactionWasSentSendsItAgain() throws {
        try push([1, 2, 3, 4])
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])
        let transactions = try calls("exec")
        failing.next = .beforeSending
        XCTAssertEqual(try pop(), [3])
        XCTAssertNil(failing.next, "the failure was simulated")
        XCTAssertEqual(try calls("exec"), transactions + 1, "only the second sending ran")
        XCTAssertEqual(try list("q.processing.w"), [3], "task 2 was acknowledged, task 3 is in flight")
        XCTAssertEqual(try list("q"), [4])
    }

    func testPopAfterALostReplyTheNodeCouldNotExplainServesTheTaskThatWasMoved() throws {
        connector = RedisConnector(nodes: [server.node], logger: logger, reconnectTimeout: 0.2)
        try push([1, 2, 3, 4])
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])
        // The transaction runs, its reply is lost, and the node stays unreachable past the
        // reconnect deadline: the pop fails without knowing whether it ran.
        failing.next = .afterSending(unreachableFor: 0.6)
        XCTAssertThrowsError(try pop())
        XCTAssertEqual(try list("q.processing.w"), [3], "the transaction ran")
        try waitForTheNode()
        // The next pop asks first: task 3 was never handed out, so it comes now instead of
        // being acknowledged unseen.
        XCTAssertEqual(try pop(), [3])
        XCTAssertEqual(try list("q.processing.w"), [3])
        XCTAssertEqual(try pop(), [4])
        XCTAssertEqual(try list("q.processing.w"), [4])
        XCTAssertEqual(try pop(), [])
    }

    func testAcknowledgingAfterAnUnexplainedLostReplyLeavesTheTasksForRecovery() throws {
        connector = RedisConnector(nodes: [server.node], logger: logger, reconnectTimeout: 0.2)
        try push([1, 2])
        XCTAssertEqual(try pop(), [1])
        failing.next = .afterSending(unreachableFor: 0.6)
        XCTAssertThrowsError(try pop())
        try waitForTheNode()
        // The worker ends here (SIGTERM): its final acknowledgement must not drop task 2,
        // which it never saw; the replacement worker recovers the list.
        try connector.acknowledge(KeySpace(queue: "q"), worker: "w")
        XCTAssertEqual(try list("q.processing.w"), [2])
        XCTAssertEqual(try connector.reclaim(KeySpace(queue: "q"), worker: "w", alsoExpired: false, by: "next"), [[2]])
    }

    func testScriptPopAfterALostReplyTheNodeCouldNotExplainServesTheBatchThatWasMoved() throws {
        connector = RedisConnector(nodes: [server.node], logger: logger, reconnectTimeout: 0.2)
        try push([1, 2, 3, 4, 5, 6])
        // Batches of two go through the script, which the connection resends after a lost
        // reply; when the node stays away past the deadline the outcome is unknown as well.
        XCTAssertEqual(try connector.pop(KeySpace(queue: "q"), count: 2, inFlightFor: "w"), [[1], [2]])
        failing.next = .afterSending(unreachableFor: 0.6)
        XCTAssertThrowsError(try connector.pop(KeySpace(queue: "q"), count: 2, inFlightFor: "w"))
        XCTAssertEqual(try list("q.processing.w"), [3, 4], "the script ran")
        try waitForTheNode()
        XCTAssertEqual(try connector.pop(KeySpace(queue: "q"), count: 2, inFlightFor: "w"), [[3], [4]])
        XCTAssertEqual(try connector.pop(KeySpace(queue: "q"), count: 2, inFlightFor: "w"), [[5], [6]])
        XCTAssertEqual(try list("q.processing.w"), [5, 6])
    }

    func testLostReplyOfATransactionOnAnEmptyQueueFallsBackToTheScript() throws {
        try push([1, 2])
        try connector.push(queue: "q", items: [[7]], priority: .normal, consumableFrom: unixTime() - 1)
        XCTAssertEqual(try pop(), [1])
        XCTAssertEqual(try pop(), [2])
        failing.next = .afterSending(unreachableFor: 0)
        XCTAssertEqual(try pop(), [7], "the transaction ran and found the queue empty: the script serves the delayed task")
        XCTAssertEqual(try list("q.processing.w"), [7])
        XCTAssertEqual(try pop(), [])
    }

    func testCommandsAreEncodedExactlyForEveryArgumentSize() throws {
        let connection = RedisConnection(node: server.node, logger: logger)
        for size in [0, 1, 9, 10, 99, 100, 4095, 4096, 70_000, 2_500_000] {
            let value = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ size) }
            XCTAssertEqual(try connection.command([Array("SET".utf8), Array("k\(size)".utf8), value]), .status("OK"))
            XCTAssertEqual(try connection.command("GET", "k\(size)"), .bytes(value), "\(size) bytes")
            XCTAssertEqual(try connection.command("STRLEN", "k\(size)"), .integer(Int64(size)))
        }
        // One command of 100,000 arguments, then a pipeline of 1,000 commands.
        let many = (0..<100_000).map { [UInt8(truncatingIfNeeded: $0), UInt8(truncatingIfNeeded: $0 >> 8)] }
        XCTAssertEqual(try connection.command([Array("RPUSH".utf8), Array("list".utf8)] + many), .integer(100_000))
        let replies = try connection.pipeline((0..<1000).map { [Array("LINDEX".utf8), Array("list".utf8), Array(String($0 * 100).utf8)] })
        XCTAssertEqual(replies, (0..<1000).map { .bytes(many[$0 * 100]) })
        XCTAssertEqual(try connection.command("SET", "ключ ✓", "значение"), .status("OK"))
        XCTAssertEqual(try connection.command("GET", "ключ ✓"), .bytes(Array("значение".utf8)))
        guard case .error(let message) = try connection.command("NOSUCHCOMMAND") else { return XCTFail("no error reply") }
        XCTAssertTrue(message.hasPrefix("ERR unknown command"), message)
        XCTAssertEqual(try connection.command("PING"), .status("PONG"), "the connection goes on after an error reply")
    }

    func testSinglePopsOverTwoNodesAcknowledgeOnEveryNode() throws {
        let second = try RedisServer()
        let connector = RedisConnector(nodes: [server.node, second.node], logger: logger)
        let inspectors = [inspector!, RedisConnection(node: second.node, logger: logger)]
        _ = try inspectors[0].command([Array("RPUSH".utf8), Array("q".utf8), [1], [2]])
        _ = try inspectors[1].command([Array("RPUSH".utf8), Array("q".utf8), [11], [12]])
        var popped: [UInt8] = []
        for _ in 0..<4 {
            let item = try pop(from: connector)
            XCTAssertEqual(item.count, 1)
            popped += item
            let inFlight = try list("q.processing.w", on: inspectors[0]) + list("q.processing.w", on: inspectors[1])
            XCTAssertEqual(inFlight, item, "only the task just popped is in flight, on either node")
        }
        XCTAssertEqual(popped.sorted(), [1, 2, 11, 12])
        XCTAssertEqual(popped.filter { $0 < 10 }, [1, 2], "each node's order is kept")
        XCTAssertEqual(try pop(from: connector), [])
        XCTAssertEqual(try list("q.processing.w", on: inspectors[0]) + list("q.processing.w", on: inspectors[1]), [])
        XCTAssertEqual(try calls("exec", on: inspectors[0]) + calls("exec", on: inspectors[1]), 4,
                       "pops 3 and 4 and the empty pop on each node are transactions (each node's first pop is the script)")
    }

    func testAPopToADeadServerLeavesNoPopOfUnknownOutcome() throws {
        connector = RedisConnector(nodes: [server.node], logger: logger, reconnectTimeout: 0.2)
        try push([1, 2])
        XCTAssertEqual(try pop(), [1])
        // The server dies between two pops: the connection it closed is not used to send the
        // next transaction, so nothing was sent and nothing is left unexplained.
        server.stop()
        XCTAssertThrowsError(try pop())
        XCTAssertTrue(connector.unresolvedPops.allSatisfy { $0 == nil }, "a pop that never reached Redis counts as unknown")
    }

    /// Polls until the simulated outage is over and the node answers again.
    func waitForTheNode() throws {
        try waitUntil(timeout: 10, "the node to answer again") {
            (try? self.connector.connections[0].command("PING")) == .status("PONG")
        }
    }
}
