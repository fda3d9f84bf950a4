import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// Recovery takes only the in-flight records of workers that are provably dead: a worker is
/// alive (its heartbeat is written) before its first pop records anything in flight.
final class LiveWorkerRecoveryTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    var server: RedisServer!
    var inspector: RedisConnection!

    override func setUpWithError() throws {
        server = try RedisServer()
        inspector = RedisConnection(node: server.node, logger: logger)
    }

    override func tearDown() {
        inspector = nil
        server = nil
    }

    func broker() -> Broker {
        Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
    }

    func testAFreshWorkersFirstPopIsNeverTakenByASibling() throws {
        let producer = broker()
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1]), SergeantTask(kwargs: ["n": 2])], queue: "q")
        // Worker A's very first call: a pop that records its task in flight. No heartbeat
        // thread has run yet.
        let first = broker()
        let popped = try first.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(popped.tasks.count, 1)
        XCTAssertEqual(try inspector.command("EXISTS", "q.heartbeat.A"), .integer(1), "A is alive before its task is in flight")
        // Sibling B starts and recovers what dead workers left: A is not dead.
        let sibling = broker()
        let recovered = try sibling.recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3)
        XCTAssertEqual(recovered.requeued, 0, "a live worker's task was taken")
        XCTAssertEqual(try inspector.command("LLEN", "q.processing.A"), .integer(1), "A still holds its task")
        XCTAssertEqual(try inspector.command("EXISTS", "q.deaths"), .integer(0), "no death was counted for a live worker")
        XCTAssertEqual(try inspector.command("LLEN", "q.recovered"), .integer(0))
    }

    func testAWorkerWhoseHeartbeatExpiredIsRecoveredOnceWithItsDeathCounted() throws {
        let producer = broker()
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        _ = try broker().pop(queue: "q", count: 1, inFlightFor: "A")
        // A dies with its supervisor: nobody reaps it, its heartbeat expires.
        _ = try inspector.command("DEL", "q.heartbeat.A")
        let (first, second) = (broker(), broker())
        XCTAssertEqual(try first.recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try second.recover(queue: "q", deadWorker: nil, claimant: "C", maxDeaths: 3).requeued, 0,
                       "of two claimants, one gets the tasks")
        XCTAssertEqual(try inspector.command("LLEN", "q.recovered"), .integer(1))
        XCTAssertEqual(try inspector.command("EXISTS", "q.processing.A"), .integer(0))
        XCTAssertEqual(try inspector.command("EXISTS", "q.processing.B"), .integer(0), "the claimant let go of them once pushed back")
        XCTAssertEqual(try inspector.command("HLEN", "q.deaths"), .integer(1))
    }

    func testAReapedWorkerIsRecoveredThoughItsHeartbeatIsStillThere() throws {
        let producer = broker()
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        _ = try broker().pop(queue: "q", count: 1, inFlightFor: "A")
        // Its supervisor saw it die (SIGKILL) and names it to the replacement.
        XCTAssertEqual(try broker().recover(queue: "q", deadWorker: "A", claimant: "A2", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try inspector.command("LLEN", "q.recovered"), .integer(1))
    }

    func testTasksReclaimedByARecoveryThatFailedHalfwayAreNotLost() throws {
        let producer = broker()
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1]), SergeantTask(kwargs: ["n": 2])], queue: "q")
        _ = try broker().pop(queue: "q", count: 2, inFlightFor: "A")
        _ = try inspector.command("DEL", "q.heartbeat.A")
        // B's first recovery takes A's tasks and then fails before pushing them back (its reply
        // lost, Redis restarted, B killed): what it took waits in B's reclaimed list.
        let connector = RedisConnector(nodes: [server.node], logger: logger)
        XCTAssertEqual(try connector.reclaim(KeySpace(queue: "q"), worker: nil, alsoExpired: true, by: "B").count, 2)
        XCTAssertEqual(try inspector.command("EXISTS", "q.processing.A"), .integer(0))
        XCTAssertEqual(try inspector.command("LLEN", "q.reclaimed.B"), .integer(2))
        // B's next recovery pushes them back although no dead worker is left to take from.
        XCTAssertEqual(try broker().recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3).requeued, 2)
        XCTAssertEqual(try inspector.command("LLEN", "q.recovered"), .integer(2))
        XCTAssertEqual(try inspector.command("EXISTS", "q.reclaimed.B"), .integer(0))
    }

    func testADeadClaimantsReclaimedTasksAreRecoveredWithItsOwnRecords() throws {
        let producer = broker()
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        _ = try broker().pop(queue: "q", count: 1, inFlightFor: "A")
        _ = try inspector.command("DEL", "q.heartbeat.A")
        let connector = RedisConnector(nodes: [server.node], logger: logger)
        _ = try connector.reclaim(KeySpace(queue: "q"), worker: nil, alsoExpired: true, by: "B")
        // B dies before pushing them back; its replacement C recovers B (reaped by the supervisor).
        XCTAssertEqual(try broker().recover(queue: "q", deadWorker: "B", claimant: "C", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try inspector.command("LLEN", "q.recovered"), .integer(1))
    }
}
