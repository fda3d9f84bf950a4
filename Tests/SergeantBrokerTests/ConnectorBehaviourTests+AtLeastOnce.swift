import Foundation
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// At-least-once delivery, the same on every connector with ``InFlightRecords``: pops record
/// what they hand out, the next pop acknowledges it, and recovery takes only what provably
/// dead workers held (a live worker's heartbeat is written before its first pop), holds it in
/// the claimant's reclaimed record until it is pushed back, and sets poison tasks aside.
extension ConnectorBehaviourTests {
    /// The key names of queue `q` as the broker gives them to its connector (hash-tagged on a
    /// Redis Cluster).
    var keys: KeySpace { broker.keys("q") }

    /// How many tasks wait in `q`'s recovered list.
    func recoveredCount() throws -> Int {
        try raw { connector throws(BrokerError) in try connector.length(queue: keys.recovered, includeDelayed: true) }
    }

    func records() throws -> any InFlightRecords {
        try XCTUnwrap(broker.inFlight, "the connector keeps no in-flight records")
    }

    /// The raw in-flight pop of `worker`, as bytes of one-byte items.
    func popInFlight(_ count: Int, _ worker: String = "w") throws -> [UInt8] {
        let records = try records()
        return try broker.withConnector { _ throws(BrokerError) in try records.pop(keys, count: count, inFlightFor: worker) }.flatMap { $0 }
    }

    func pushBytes(_ items: [UInt8], queue: String = "q") throws {
        try raw { connector throws(BrokerError) in
            try connector.push(queue: queue, items: items.map { [$0] }, priority: .normal, consumableFrom: nil)
        }
    }

    /// Another process's broker (its own connection) on the same storage.
    func fresh() throws -> Broker { try makeBroker(encoder: TaskEncoder()) }

    /// What `worker` holds (in flight, then reclaimed), flattened.
    func held(_ worker: String) throws -> [UInt8] { try heldBy(worker, queue: "q").flatMap { $0 } }

    func testInFlightPopsRecordTheirTasksAndTheNextPopAcknowledgesThem() throws {
        try pushBytes(Array(1...7))
        XCTAssertEqual(try popInFlight(1), [1])
        XCTAssertEqual(try held("w"), [1])
        XCTAssertEqual(try popInFlight(3), [2, 3, 4])
        XCTAssertEqual(try held("w"), [2, 3, 4], "the pop acknowledged 1 and recorded 2, 3, 4 in order")
        XCTAssertEqual(try popInFlight(5), [5, 6, 7], "what is left")
        XCTAssertEqual(try popInFlight(5), [])
        XCTAssertEqual(try held("w"), [], "the empty pop acknowledged the last batch")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 0)
    }

    func testAcknowledgeForgetsEverythingAndForgetOneTask() throws {
        try pushBytes([1, 2, 3, 2])
        XCTAssertEqual(try popInFlight(4), [1, 2, 3, 2])
        try broker.forget(stored: [2], queue: "q", worker: "w")
        XCTAssertEqual(try held("w"), [1, 3, 2], "one task forgotten, the oldest of two equal ones")
        try broker.forget(stored: [9], queue: "q", worker: "w")
        XCTAssertEqual(try held("w"), [1, 3, 2], "a task not in flight changes nothing")
        try broker.acknowledge(queue: "q", worker: "w")
        XCTAssertEqual(try held("w"), [])
    }

    func testDueDelayedTasksArePoppedInFlightWhenTheQueueIsEmpty() throws {
        try pushBytes([1])
        try raw { connector throws(BrokerError) in
            try connector.push(queue: "q", items: [[7]], priority: .normal, consumableFrom: unixTime() - 1)
            try connector.push(queue: "q", items: [[8]], priority: .normal, consumableFrom: unixTime() + 60)
        }
        XCTAssertEqual(try popInFlight(1), [1])
        XCTAssertEqual(try popInFlight(1), [7], "the due delayed task")
        XCTAssertEqual(try held("w"), [7])
        XCTAssertEqual(try popInFlight(1), [], "the other one is not due")
        XCTAssertEqual(try broker.count(queue: "q", includeDelayed: true), 1)
    }

    func testAFreshWorkersFirstPopIsNeverTakenByASibling() throws {
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        // Worker A's very first call: a pop that records its task in flight. No heartbeat
        // thread has run yet.
        let first = try fresh().pop(queue: "q", count: 1, inFlightFor: "A").tasks
        XCTAssertEqual(numbers(first), [1])
        let recovered = try fresh().recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3)
        XCTAssertEqual(recovered.requeued, 0, "a live worker's task was taken")
        XCTAssertEqual(try heldBy("A", queue: "q").count, 1, "A still holds its task")
        XCTAssertEqual(try recoveredCount(), 0)
        XCTAssertEqual(try records().countDeath(keys, item: try XCTUnwrap(first.first).stored), 1, "no death was counted before")
    }

    func testAWorkerWhoseHeartbeatExpiredIsRecoveredOnceWithItsDeathCounted() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        let item = try XCTUnwrap(try fresh().pop(queue: "q", count: 1, inFlightFor: "A").tasks.first?.stored)
        // A dies with its supervisor: nobody reaps it, its heartbeat expires.
        try expireHeartbeat("A", queue: "q")
        let (first, second) = (try fresh(), try fresh())
        XCTAssertEqual(try first.recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try second.recover(queue: "q", deadWorker: nil, claimant: "C", maxDeaths: 3).requeued, 0,
                       "of two claimants, one gets the tasks")
        XCTAssertEqual(try recoveredCount(), 1)
        XCTAssertEqual(try heldBy("A", queue: "q").count, 0)
        XCTAssertEqual(try heldBy("B", queue: "q").count, 0, "the claimant let go of them once pushed back")
        XCTAssertEqual(try records().countDeath(keys, item: item), 2, "one death was counted before this one")
    }

    func testAReapedWorkerIsRecoveredThoughItsHeartbeatIsStillThere() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        _ = try fresh().pop(queue: "q", count: 1, inFlightFor: "A")
        // Its supervisor saw it die (SIGKILL) and names it to the replacement.
        XCTAssertEqual(try fresh().recover(queue: "q", deadWorker: "A", claimant: "A2", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try recoveredCount(), 1)
        // The replacement's pop serves it.
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 10, inFlightFor: "A2").tasks), [1])
    }

    func testTasksReclaimedByARecoveryThatFailedHalfwayAreNotLost() throws {
        try broker.push(tasks: [task(1), task(2)], queue: "q")
        _ = try fresh().pop(queue: "q", count: 2, inFlightFor: "A")
        try expireHeartbeat("A", queue: "q")
        // B's first recovery takes A's tasks and then fails before pushing them back: what it
        // took waits in B's reclaimed record.
        XCTAssertEqual(try records().reclaim(keys, worker: nil, alsoExpired: true, by: "B").count, 2)
        XCTAssertEqual(try heldBy("A", queue: "q").count, 0)
        XCTAssertEqual(try heldBy("B", queue: "q").count, 2)
        // B's next recovery pushes them back although no dead worker is left to take from.
        XCTAssertEqual(try fresh().recover(queue: "q", deadWorker: nil, claimant: "B", maxDeaths: 3).requeued, 2)
        XCTAssertEqual(try recoveredCount(), 2)
        XCTAssertEqual(try heldBy("B", queue: "q").count, 0)
    }

    func testADeadClaimantsReclaimedTasksAreRecoveredWithItsOwnRecords() throws {
        try broker.push(tasks: [task(1)], queue: "q")
        _ = try fresh().pop(queue: "q", count: 1, inFlightFor: "A")
        try expireHeartbeat("A", queue: "q")
        _ = try records().reclaim(keys, worker: nil, alsoExpired: true, by: "B")
        // B dies before pushing them back; its replacement C recovers B (reaped by the supervisor).
        XCTAssertEqual(try fresh().recover(queue: "q", deadWorker: "B", claimant: "C", maxDeaths: 3).requeued, 1)
        XCTAssertEqual(try recoveredCount(), 1)
    }

    func testRecoveredTasksComeFirstAndAlone() throws {
        try pushBytes([80], queue: keys.recovered)
        try pushBytes([1, 2, 3])
        XCTAssertEqual(try popInFlight(5), [80], "a recovered task comes first, alone")
        XCTAssertEqual(try held("w"), [80])
        XCTAssertEqual(try popInFlight(2), [1, 2])
        // Pushed back by another process: served each alone, in order (Redis learns of them
        // from its next pop's reply, so one pop of the queue may come first).
        try fresh().withConnector { connector throws(BrokerError) in
            try connector.push(queue: keys.recovered, items: [[90], [91]], priority: .normal, consumableFrom: nil)
        }
        var pops: [[UInt8]] = []
        while case let popped = try popInFlight(5), !popped.isEmpty { pops.append(popped) }
        XCTAssertEqual(pops.flatMap { $0 }.sorted(), [3, 90, 91])
        XCTAssertTrue(pops.contains([90]) && pops.contains([91]), "each recovered task alone in flight: \(pops)")
        XCTAssertLessThan(pops.firstIndex(of: [90]) ?? 9, pops.firstIndex(of: [91]) ?? 0, "in order")
    }

    func testATaskInFlightAtEveryDeathIsSetAsideAsPoisonAtMaxDeaths() throws {
        // The task alone in its queue while it dies: on a sharded queue a recovered task comes
        // first within its shard only, so another queued task could be served before it (that
        // a recovered task comes first is checked above, on one shard).
        try broker.push(tasks: [task(1)], queue: "q")
        var worker = "W0"
        XCTAssertEqual(numbers(try fresh().pop(queue: "q", count: 1, inFlightFor: worker).tasks), [1])
        for death in 1...3 {
            // The worker dies with its task; its replacement recovers it and pops it again.
            let next = "W\(death)"
            let result = try fresh().recover(queue: "q", deadWorker: worker, claimant: next, maxDeaths: 3)
            if death < 3 {
                XCTAssertEqual(result.requeued, 1, "death \(death)")
                XCTAssertEqual(numbers(try fresh().pop(queue: "q", count: 5, inFlightFor: next).tasks), [1])
            } else {
                XCTAssertEqual(result.deadLettered, 1, "the third death sets it aside")
            }
            worker = next
        }
        let letters = try broker.deadLetters(queue: "q", limit: 10)
        XCTAssertEqual(letters.count, 1)
        guard case .success(let letter)? = letters.first else { return XCTFail("unreadable dead letter: \(letters)") }
        XCTAssertTrue(letter.reason.contains("poison task"), letter.reason)
        XCTAssertEqual(try SergeantTask(messagePack: letter.task).kwargs["n"], 1, "the task's bytes, unchanged")
        try broker.push(tasks: [task(2)], queue: "q")
        XCTAssertEqual(numbers(try broker.pop(queue: "q", count: 5, inFlightFor: worker).tasks), [2], "the rest is served")
    }

    // MARK: Tasks acknowledged one by one (the async executor)

    func testPopAddingKeepsWhatIsInFlightAndForgetsTasksOneByOne() throws {
        let records = try XCTUnwrap(broker.inFlight as? any IncrementalInFlightRecords, "the connector cannot add to a record")
        try pushBytes([1, 2, 3, 4, 5])
        func add(_ count: Int, alone: Bool) throws -> AddedItems {
            try broker.withConnector { _ throws(BrokerError) in try records.popAdding(keys, count: count, inFlightFor: "w", alone: alone) }
        }
        XCTAssertEqual(try add(2, alone: true).items, [[1], [2]])
        XCTAssertEqual(try add(2, alone: false).items, [[3], [4]])
        XCTAssertEqual(try held("w"), [1, 2, 3, 4], "the second pop kept the first one's tasks")
        try broker.withConnector { _ throws(BrokerError) in try records.forget(keys, worker: "w", items: [[3], [1]]) }
        XCTAssertEqual(try held("w"), [2, 4], "each finished task forgotten alone")
        // A recovered task waits for a worker that runs nothing, and then comes alone.
        try fresh().withConnector { connector throws(BrokerError) in
            try connector.push(queue: keys.recovered, items: [[90]], priority: .normal, consumableFrom: nil)
        }
        var busy = try add(5, alone: false)
        // Redis may serve one pop of the queue before it sees the recovered task.
        var servedFirst: [UInt8] = []
        if busy.items == [[5]] {
            servedFirst = [5]
            busy = try add(5, alone: false)
        }
        XCTAssertEqual(busy.items, [], "a busy worker gets nothing while a recovered task waits")
        XCTAssertTrue(busy.recoveredWaiting)
        let idle = try add(5, alone: true)
        XCTAssertEqual(idle.items, [[90]])
        XCTAssertTrue(idle.recovered)
        XCTAssertEqual(try held("w").sorted(), ([2, 4, 90] + servedFirst).sorted(), "still added to the record")
    }
}
