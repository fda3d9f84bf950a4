import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// What every ``QueueConnector`` does the same way, run once per connector: the subclasses
/// (`RedisConnectorTests`, `LocalConnectorTests`) override ``makeBroker(encoder:)`` and
/// inherit every test here. The base class itself runs nothing: its tests skip.
class ConnectorBehaviourTests: XCTestCase {
    var broker: Broker!
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    /// A new broker (with its own connection) on the storage of the current test: every
    /// call during one test reaches the same queues. Subclasses override it.
    func makeBroker(encoder: TaskEncoder) throws -> Broker {
        throw XCTSkip("ConnectorBehaviourTests runs through its subclasses")
    }

    /// The items `worker` holds on `queue` (in flight, then reclaimed), read around the
    /// broker. Subclasses override it.
    func heldBy(_ worker: String, queue: String) throws -> [[UInt8]] {
        throw XCTSkip("ConnectorBehaviourTests runs through its subclasses")
    }

    /// Makes `worker`'s heartbeat on `queue` look expired, as if it had died with its
    /// supervisor. Subclasses override it.
    func expireHeartbeat(_ worker: String, queue: String) throws {
        throw XCTSkip("ConnectorBehaviourTests runs through its subclasses")
    }

    override func setUpWithError() throws {
        try super.setUpWithError()
        if type(of: self) == ConnectorBehaviourTests.self {
            throw XCTSkip("ConnectorBehaviourTests runs through its subclasses, once per connector")
        }
        broker = try makeBroker(encoder: TaskEncoder())
    }

    override func tearDown() {
        broker = nil
        super.tearDown()
    }

    // MARK: Helpers

    func task(_ number: Int) -> SergeantTask {
        SergeantTask(kwargs: ["n": .int(Int64(number))])
    }

    func numbers(_ tasks: [PoppedTask]) -> [Int] {
        tasks.compactMap { try? SergeantTask(messagePack: $0.messagePack).kwargs["n"]?.intValue }
    }

    /// Runs `body` on the broker's connector.
    func raw<T>(_ body: (any QueueConnector) throws(BrokerError) -> T) throws -> T {
        try broker.withConnector(body)
    }

    // MARK: Queues

    func testPushPopPurgeCount() throws {
        try broker.push(tasks: (0..<5).map(task), queue: "q")
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

    func testHighPriorityBatchesGoBeforeTheHeadOneByOneAsLPUSH() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        try broker.push(tasks: [task(7), task(8)], queue: "q", priority: .high)
        try broker.push(tasks: [task(2)], queue: "q")
        try broker.push(tasks: [task(9)], queue: "q", priority: .high)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 10).tasks), [9, 8, 7, 1, 2])
        // An emptied queue starts over from both ends.
        try broker.push(tasks: [task(5)], queue: "q", priority: .high)
        try broker.push(tasks: [task(6)], queue: "q")
        try broker.push(tasks: [task(4)], queue: "q", priority: .high)
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 10).tasks), [4, 5, 6])
    }

    func testBatchesKeepTheirOrder() throws {
        try broker.push(tasks: (0..<1_000).map(task), queue: "q")
        var got: [Int] = []
        while case let tasks = try broker.pop(queue: "q", count: 300).tasks, !tasks.isEmpty {
            XCTAssertLessThanOrEqual(tasks.count, 300)
            got += numbers(tasks)
        }
        XCTAssertEqual(got, Array(0..<1_000))
    }

    func testQueuesAreSeparate() throws {
        try broker.push(tasks: [task(1)], queue: "a")
        try broker.push(tasks: [task(2)], queue: "b")
        try broker.push(tasks: [task(3)], queue: "a", consumableFrom: unixTime() + 60)
        XCTAssertEqual(try broker.count(queue: "a", includeDelayed: true), 2)
        XCTAssertTrue(try broker.purge(queue: "a"), "the queue and its delayed items go")
        XCTAssertEqual(try broker.count(queue: "a", includeDelayed: true), 0)
        XCTAssertFalse(try broker.purge(queue: "a"))
        XCTAssertEqual(numbers(try broker.pop(queue: "b", count: 5).tasks), [2])
    }

    func testDelayedOnlyQueueCountsAsExisting() throws {
        try broker.push(tasks: [task(3)], queue: "d", consumableFrom: unixTime() + 60)
        XCTAssertEqual(try broker.count(queue: "d", includeDelayed: false), 0)
        XCTAssertTrue(try broker.pop(queue: "d", count: 5).tasks.isEmpty)
        XCTAssertTrue(try broker.purge(queue: "d"))
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

    func testPopTakesQueuedItemsFirstThenDueDelayedOnesEarliestFirst() throws {
        let now = unixTime()
        try broker.push(tasks: [task(12)], queue: "q", consumableFrom: now - 1)
        try broker.push(tasks: [task(11)], queue: "q", consumableFrom: now - 2)
        try broker.push(tasks: [task(13)], queue: "q", consumableFrom: now + 60)
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 3).tasks), [1, 2, 11])
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 3).tasks), [12])
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 1, "the future one stays")
    }

    func testRawItemsKeepEveryByte() throws {
        let every = (0...255).map { UInt8($0) }
        let big = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try raw { connector throws(BrokerError) in
            try connector.push(queue: "bytes", items: [every, [0], big], priority: .normal, consumableFrom: nil)
            try connector.push(queue: "bytes", items: [[0, 0, 1]], priority: .normal, consumableFrom: unixTime() - 1)
        }
        let popped = try raw { connector throws(BrokerError) in try connector.pop(queue: "bytes", count: 10) }
        XCTAssertEqual(popped, [every, [0], big, [0, 0, 1]])
    }

    func testCompressedTasksAreStoredCompressed() throws {
        let zlib = try makeBroker(encoder: TaskEncoder(compressor: .zlib))
        try zlib.push(tasks: [task(7)], queue: "z")
        let stored = try XCTUnwrap(try zlib.withConnector { connector throws(BrokerError) in try connector.pop(queue: "z", count: 1) }.first)
        XCTAssertEqual(stored.first, 0x78, "zlib header")
        try zlib.withConnector { connector throws(BrokerError) in try connector.push(queue: "z", items: [stored], priority: .normal, consumableFrom: nil) }
        XCTAssertEqual(numbers(try zlib.pop(queue: "z", count: 1).tasks), [7])
    }

    func testUndecodableBytesGoToTheDeadLetterListAndNothingIsLost() throws {
        try raw { connector throws(BrokerError) in
            try connector.push(queue: "q", items: [[0xc1, 0x00], Array("garbage".utf8)], priority: .normal, consumableFrom: nil)
        }
        try broker.push(tasks: [task(3)], queue: "q")
        let popped = try broker.pop(queue: "q", count: 10)
        XCTAssertEqual(numbers(popped.tasks), [3])
        XCTAssertEqual(popped.rejected.count, 2)
        XCTAssertEqual(try broker.deadLetterCount(queue: "q"), 2)
        let dead = try XCTUnwrap(try raw { connector throws(BrokerError) in try connector.pop(queue: broker.keys("q").dead, count: 1) }.first)
        let entry = try MessagePack.decode(dead)
        XCTAssertEqual(entry["task"], .bytes([0xc1, 0x00]))
        XCTAssertTrue(entry["reason"]?.stringValue?.contains("msgpack") == true)
    }

    // MARK: Keys and locks

    func testKeys() throws {
        try raw { connector throws(BrokerError) in
            XCTAssertNil(try connector.keyGet("k"))
            XCTAssertTrue(try connector.keySet("k", value: [1, 2]), "new")
            XCTAssertFalse(try connector.keySet("k", value: [3]), "replaced")
            XCTAssertEqual(try connector.keyGet("k"), [3])
            XCTAssertTrue(try connector.keyDelete("k"))
            XCTAssertFalse(try connector.keyDelete("k"))
            XCTAssertNil(try connector.keyGet("k"))
            XCTAssertTrue(try connector.keySet("k", value: [0, 255]), "new again after the delete")
            XCTAssertEqual(try connector.keyGet("k"), [0, 255])
        }
    }

    func testLocks() throws {
        try raw { connector throws(BrokerError) in
            XCTAssertFalse(try connector.lockIsLocked("job"))
            XCTAssertNil(try connector.lockGetTTL("job"))
            XCTAssertFalse(try connector.lockRelease("job"), "nothing to release")
            XCTAssertFalse(try connector.lockSetTTL("job", ttl: 5), "no lock to extend")

            XCTAssertTrue(try connector.lockTryAcquire("job", ttl: 60))
            XCTAssertFalse(try connector.lockTryAcquire("job", ttl: 60))
            XCTAssertTrue(try connector.lockIsLocked("job"))
            XCTAssertFalse(try connector.lockIsLocked("other"))
            XCTAssertEqual(try connector.lockGetTTL("job"), 60)
            XCTAssertTrue(try connector.lockSetTTL("job", ttl: 5))
            XCTAssertLessThanOrEqual(try connector.lockGetTTL("job") ?? 99, 5)
            XCTAssertTrue(try connector.lockRelease("job"))
            XCTAssertFalse(try connector.lockIsLocked("job"))
            XCTAssertNil(try connector.lockGetTTL("job"))
            XCTAssertFalse(try connector.lockRelease("job"))
            XCTAssertTrue(try connector.lockTryAcquire("job", ttl: 60), "free again")
            XCTAssertFalse(try connector.lockTryAcquire("zero", ttl: 0), "a lock needs a ttl of a second or more")
            XCTAssertFalse(try connector.lockIsLocked("zero"))
        }
    }

    func testExpiredLocksAreFree() throws {
        try raw { connector throws(BrokerError) in
            XCTAssertTrue(try connector.lockTryAcquire("short", ttl: 1))
            XCTAssertTrue(try connector.lockTryAcquire("long", ttl: 60))
            XCTAssertTrue(try connector.lockSetTTL("long", ttl: 0), "a ttl of 0 frees a held lock")
            XCTAssertFalse(try connector.lockIsLocked("long"))
        }
        try waitUntil(timeout: 5, "the lock to expire") {
            try raw { connector throws(BrokerError) in try !connector.lockIsLocked("short") }
        }
        try raw { connector throws(BrokerError) in
            XCTAssertNil(try connector.lockGetTTL("short"))
            XCTAssertFalse(try connector.lockSetTTL("short", ttl: 60), "an expired lock cannot be extended")
            XCTAssertFalse(try connector.lockRelease("short"), "an expired lock was not held")
            XCTAssertTrue(try connector.lockTryAcquire("short", ttl: 60), "an expired lock can be taken")
            XCTAssertTrue(try connector.lockIsLocked("short"))
        }
    }

    func testLocksAreSharedBetweenConnections() throws {
        let other = try makeBroker(encoder: TaskEncoder())
        XCTAssertTrue(try raw { connector throws(BrokerError) in try connector.lockTryAcquire("shared", ttl: 60) })
        try other.withConnector { connector throws(BrokerError) in
            XCTAssertTrue(try connector.lockIsLocked("shared"))
            XCTAssertFalse(try connector.lockTryAcquire("shared", ttl: 60))
        }
        XCTAssertTrue(try raw { connector throws(BrokerError) in try connector.lockRelease("shared") })
        XCTAssertTrue(try other.withConnector { connector throws(BrokerError) in try connector.lockTryAcquire("shared", ttl: 60) })
    }

    // MARK: Dead letters

    func testRequeueMovesEveryReadableDeadLetterAndKeepsTheRestWithTheReason() throws {
        let tasks = (0..<2_500).map { task($0).messagePack() }
        try broker.setAside(tasks.map { DeadLetter(task: $0, reason: "poison").encoded }, queue: "q")
        let dead = broker.keys("q").dead
        try raw { connector throws(BrokerError) in
            try connector.push(queue: dead, items: [Array("not an entry".utf8)], priority: .normal, consumableFrom: nil)
        }
        let (requeued, kept) = try broker.requeueDeadLetters(queue: "q")
        XCTAssertEqual(requeued, 2_500)
        XCTAssertEqual(kept, 1)
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 2_500)
        var back: [[UInt8]] = []
        while case let batch = try broker.pop(queue: "q", count: 1_000).tasks, !batch.isEmpty { back += batch.map(\.stored) }
        XCTAssertEqual(back, tasks, "every task back, bytes unchanged, in order")
        let left = try broker.deadLetters(queue: "q", limit: 10)
        XCTAssertEqual(left.count, 1, "the unreadable entry stays")
        guard case .success(let letter)? = left.first else { return XCTFail("the kept entry is not readable: \(left)") }
        XCTAssertEqual(letter.task, Array("not an entry".utf8), "its bytes are kept")
        XCTAssertTrue(letter.reason.contains("could not be read"), letter.reason)
    }
}
