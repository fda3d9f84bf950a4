import Foundation
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// One dead letter requeued or dropped while the others stay, and the throughput history's
/// rate buckets read back from the broker, on every connector.
extension ConnectorBehaviourTests {
    func testOneDeadLetterIsRequeuedOrDroppedAndTheOthersStay() throws {
        let encoder = broker.encoder
        let tasks = try (0..<3).map { try encoder.encode(task($0)) }
        let letters = (0..<3).map { DeadLetter(task: tasks[$0], reason: "poison \($0)").encoded }
        let unreadable: [UInt8] = [0xC1, 0x01]
        try broker.setAside(letters + [unreadable], queue: "q")
        let entries = try broker.deadLetterEntries(queue: "q", limit: 10)
        XCTAssertEqual(entries.map(\.index), [0, 1, 2, 3])

        // The middle one goes back to its queue, its bytes unchanged; the other three stay in order.
        XCTAssertEqual(try broker.requeueDeadLetter(entries[1], queue: "q"), .done)
        XCTAssertEqual(try broker.peek(queue: "q", count: 10), [tasks[1]])
        XCTAssertEqual(try broker.deadLetterEntries(queue: "q", limit: 10).map(\.bytes), [letters[0], letters[2], unreadable])
        XCTAssertEqual(try broker.requeueDeadLetter(entries[1], queue: "q"), .gone, "an entry already requeued is gone")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 1, "and was not pushed twice")

        // An unreadable entry has no task to requeue; dropping it works.
        guard case .unreadable = try broker.requeueDeadLetter(entries[3], queue: "q") else {
            return XCTFail("an unreadable entry was requeued")
        }
        // Found by its digest where it is now (index 2, read at 3).
        let moved = try XCTUnwrap(try broker.deadLetterEntry(queue: "q", index: 3, digest: entries[3].digest))
        XCTAssertEqual(moved.index, 2)
        XCTAssertEqual(try broker.dropDeadLetter(moved, queue: "q"), .done)
        XCTAssertEqual(try broker.dropDeadLetter(entries[0], queue: "q"), .done)
        XCTAssertEqual(try broker.deadLetterEntries(queue: "q", limit: 10).map(\.bytes), [letters[2]])
        XCTAssertNil(try broker.deadLetterEntry(queue: "q", index: 0, digest: entries[0].digest), "a dropped entry is gone")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 1, "dropping pushes nothing")
    }

    func testThroughputBucketsAreKeptInTheBrokerForAnHour() throws {
        // Redis and the local connector keep the history; a Redis Cluster does not yet (no
        // fleet records there, README says so).
        guard broker.connector is any ThroughputRecords else {
            throw XCTSkip("\(type(of: broker.connector)) keeps no throughput history (no ThroughputRecords)")
        }
        let now = unixTime()
        // Three buckets in the hour, one older than the hour.
        for (age, processed, failed) in [(1, 7, 1), (2, 5, 0), (300, 11, 4), (RateBuckets.history + 5, 100, 100)] {
            var counts = OutcomeCounts()
            counts.processed = processed
            counts.failed = failed
            broker.record(counts, queue: "q", at: now - Double(age) * RateBuckets.width)
        }
        XCTAssertEqual(try makeBroker(encoder: broker.encoder).throughput(queues: ["q"], at: now).reduce(0) { $0 + $1.processed }, 0,
                       "staged, not written yet")
        try broker.push(tasks: [task(1)], queue: "q")  // a round trip (a transaction) the counts go out with
        try broker.flushCounts()
        let samples = try makeBroker(encoder: broker.encoder).throughput(queues: ["q"], at: now)
        guard samples.count == RateBuckets.history else {
            return XCTFail("\(samples.count) samples, not the hour's \(RateBuckets.history) buckets")
        }
        XCTAssertEqual(samples.last?.time, Double(RateBuckets.index(of: now) - 1) * RateBuckets.width, "the newest complete bucket last")
        XCTAssertEqual(samples.last?.processed, 7)
        XCTAssertEqual(samples.last?.failed, 1)
        XCTAssertEqual(samples[samples.count - 2].processed, 5)
        XCTAssertEqual(samples[samples.count - 300].processed, 11)
        XCTAssertEqual(samples.reduce(0) { $0 + $1.processed }, 23, "the bucket older than the hour is not drawn")
        XCTAssertEqual(samples.reduce(0) { $0 + $1.failed }, 5)
    }
}
