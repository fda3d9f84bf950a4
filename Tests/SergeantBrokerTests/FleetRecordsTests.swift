import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// Counters ride on round trips the worker makes anyway; records and the snapshot read them
/// back, against a real redis-server (and the local connector's n/a).
final class FleetRecordsTests: XCTestCase {
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

    func commandCount(_ name: String) throws -> Int {
        guard case .bytes(let bytes) = try inspector.command("INFO", "commandstats") else { return 0 }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\r\n").first(where: { $0.hasPrefix("cmdstat_\(name):") }),
              let calls = line.split(separator: "=").dropFirst().first?.split(separator: ",").first else { return 0 }
        return Int(calls) ?? 0
    }

    func testCountsGoOutAheadOfTheNextPopWithoutARoundTripOfTheirOwn() throws {
        let worker = broker()
        try worker.push(tasks: (0..<3).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: "q")
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        var counts = OutcomeCounts()
        counts.add(outcome: "success")
        counts.add(outcome: "retry")
        worker.record(counts, queue: "q")
        XCTAssertEqual(try inspector.command("EXISTS", "q.stats"), .integer(0), "staged, not sent on its own")
        let execs = try commandCount("exec")
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try commandCount("exec"), execs + 1, "one pop")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("2".utf8)))
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "retried"), .bytes(Array("1".utf8)))
        let ttl = try inspector.command("TTL", "q.stats.\(RateBuckets.index(of: unixTime()))").integer ?? 0
        XCTAssertTrue(ttl > 0 && ttl <= Int64(RateBuckets.ttl), "the rate bucket expires: \(ttl)")
        XCTAssertGreaterThan(ttl, Int64(RateBuckets.history) * Int64(RateBuckets.width), "and lives as long as the chart draws it")

        let snapshot = try broker().snapshot(queues: ["q"])
        let stats = try XCTUnwrap(snapshot.queues.first)
        XCTAssertEqual(stats.totals?.processed, 2)
        XCTAssertEqual(stats.totals?.succeeded, 1)
        XCTAssertEqual(stats.lastMinute?.retried, 1)
        XCTAssertEqual(stats.waiting, 1)
        XCTAssertEqual(stats.inFlight?.first?.worker, "A")
        XCTAssertEqual(stats.inFlightTotal, 1)
    }

    /// The first counts go out with the next round trip; those that follow within
    /// ``RedisConnector/countsInterval`` are added up in memory and go out together, with the
    /// first round trip after it (or ahead of a blocking wait).
    func testCountsWithinTheIntervalAreAddedUpAndGoOutTogether() throws {
        let worker = broker()
        try worker.push(tasks: (0..<5).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: "q")
        // Inside one rate bucket, so that no bucket change sends them early.
        let start = Double(RateBuckets.index(of: unixTime())) * RateBuckets.width + 1
        var one = OutcomeCounts()
        one.add(outcome: "success")
        one.add(duration: 0.002)
        worker.record(one, queue: "q", at: start)
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("1".utf8)), "the first went at once")
        let hincrbys = try commandCount("hincrby")
        for index in 1...100 { worker.record(one, queue: "q", at: start + Double(index) / 200) }
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("1".utf8)), "held within the interval")
        XCTAssertEqual(try commandCount("hincrby"), hincrbys)
        worker.record(one, queue: "q", at: start + RedisConnector.countsInterval)
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("102".utf8)))
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "duration_bucket_0"), .bytes(Array("102".utf8)))
        // processed and succeeded in the totals and in the bucket, and one duration bucket: the
        // 101 runs in 5 HINCRBYs.
        XCTAssertEqual(try commandCount("hincrby"), hincrbys + 5)
        // Counts held when the queue runs dry go out ahead of the blocking wait.
        worker.record(one, queue: "q", at: start + RedisConnector.countsInterval + 0.1)
        _ = try worker.pop(queue: "q", count: 5, inFlightFor: "A")
        XCTAssertEqual(try worker.pop(queue: "q", count: 5, inFlightFor: "A").tasks.count, 0, "dry")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("102".utf8)))
        _ = try worker.wait(queue: "q", timeout: 0.05, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "processed"), .bytes(Array("103".utf8)))
        // Counts of an earlier rate bucket go out when a later bucket's arrive.
        worker.record(one, queue: "q", at: start + RedisConnector.countsInterval + 0.2)
        worker.record(one, queue: "q", at: start + RateBuckets.width)
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        let earlier = "q.stats.\(RateBuckets.index(of: start))"
        XCTAssertEqual(try inspector.command("HGET", earlier, "processed"), .bytes(Array("104".utf8)))
    }

    /// `+=` adds every counter (a counter added to ``OutcomeCounts/fields`` but not to `+=` or
    /// to `isZero` fails here).
    func testEveryCounterAddsUpAndCountsAsNonZero() {
        for field in OutcomeCounts.fields {
            var counts = OutcomeCounts()
            XCTAssertTrue(counts.isZero)
            counts[keyPath: field.path] = 2
            XCTAssertFalse(counts.isZero, field.name)
            counts += counts
            XCTAssertEqual(counts[keyPath: field.path], 4, field.name)
            XCTAssertEqual((counts + counts)[keyPath: field.path], 8, field.name)
        }
    }

    func testFlushSendsWhatNoPopCarried() throws {
        let worker = broker()
        var counts = OutcomeCounts()
        counts.add(outcome: "failure", count: 4)
        worker.record(counts, queue: "q")
        try worker.flushCounts()
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "failed"), .bytes(Array("4".utf8)))
    }

    func testRecordsShowLiveAndStaleWorkersAndTheirQueues() throws {
        let fleet = broker()
        let now = unixTime()
        func record(_ name: String, updated: Double) -> WorkerRecord {
            WorkerRecord(worker: name, hostName: "vm-1", pid: 42, queue: "q", executor: "serial", startedAt: now - 100,
                         updatedAt: updated, tasksDone: 7, residentBytes: 1 << 20,
                         running: .init(traceID: "order-1", since: now - 3))
        }
        try fleet.publish(record("live", updated: now))
        try fleet.publish(record("late", updated: now - 30))
        _ = try fleet.pop(queue: "q", count: 1, inFlightFor: "dead")  // in the processing set, no record
        try fleet.push(tasks: [SergeantTask(kwargs: [:])], queue: "q")
        _ = try fleet.pop(queue: "q", count: 1, inFlightFor: "dead")
        let snapshot = try broker().snapshot()
        XCTAssertEqual(snapshot.queues.map(\.name), ["q"], "found from the records")
        let workers = try XCTUnwrap(snapshot.queues.first?.workers)
        let byName = Dictionary(uniqueKeysWithValues: workers.map { ($0.worker, $0) })
        XCTAssertNil(byName["live"]?.stale)
        XCTAssertEqual(byName["live"]?.record?.running?.traceID, "order-1")
        XCTAssertEqual(byName["live"]?.record?.tasksDone, 7)
        XCTAssertNotNil(byName["late"]?.stale, "a heartbeat 30 s old is stale")
        XCTAssertEqual(byName["dead"]?.stale, "heartbeat expired")
        XCTAssertEqual(byName["dead"]?.record == nil, true)
        // A reaped worker's record is deleted by the recovery of its replacement.
        try fleet.recover(queue: "q", deadWorker: "live", claimant: "next", maxDeaths: 3)
        XCTAssertEqual(try inspector.command("EXISTS", "q.worker.live"), .integer(0))
        // JSON round trip of the shared type.
        let decoded = try ValueDecoder().decode(WorkerRecord.self, from: try Value(messagePack: record("x", updated: now).encoded()))
        XCTAssertEqual(decoded, record("x", updated: now))
    }

    func testTheLocalConnectorShowsDepthAndNAForTheRest() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fleet-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).sqlite3").path
        defer { unlink(path) }
        let local = try Broker(config: WorkerConfig(name: "q", connector: .local(filePath: path)), logger: logger)
        try local.push(tasks: [SergeantTask(kwargs: [:]), SergeantTask(kwargs: [:])], queue: "q")
        try local.push(tasks: [SergeantTask(kwargs: [:])], queue: "q", consumableFrom: unixTime() + 600)
        var counts = OutcomeCounts()
        counts.add(outcome: "success")
        local.record(counts, queue: "q")  // nowhere to go: no error
        let stats = try XCTUnwrap(local.snapshot(queues: ["q"]).queues.first)
        XCTAssertEqual(stats.waiting, 2)
        XCTAssertEqual(stats.delayedLater, 1)
        XCTAssertNil(stats.totals)
        XCTAssertNil(stats.workers)
        XCTAssertNil(stats.inFlight)
    }

    /// A connection the worker had to make again is counted with its next counts, in the same
    /// round trip, once.
    func testReconnectsAreCountedWithTheNextCounts() throws {
        let worker = broker()
        try worker.push(tasks: (0..<3).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: "q")
        var counts = OutcomeCounts()
        counts.add(outcome: "success")
        worker.record(counts, queue: "q")
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "broker_reconnects"), .null, "no reconnect yet")
        _ = try inspector.command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")  // reconnects
        worker.record(counts, queue: "q", at: unixTime() + RedisConnector.countsInterval)  // past the coalescing interval
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "A")
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "broker_reconnects"), .bytes(Array("1".utf8)))
        worker.record(counts, queue: "q")
        try worker.flushCounts()
        XCTAssertEqual(try inspector.command("HGET", "q.stats", "broker_reconnects"), .bytes(Array("1".utf8)), "counted once")
        XCTAssertEqual(try broker().snapshot(queues: ["q"]).queues.first?.totals?.brokerReconnects, 1)
    }
}
