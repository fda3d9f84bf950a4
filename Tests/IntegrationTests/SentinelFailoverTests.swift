import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport
import Synchronization
import XCTest

/// The seed's worker plugin (Plugins-Examples/consumer, unchanged) run by a real
/// `sergeant-host` whose only difference is `--redis redis-sentinel://...`, behind one master,
/// one replica and three sentinels. A producer pushes numbered tasks one by one; once the
/// workers are busy the master is SIGKILLed. The hosts' workers and the producer carry on with
/// the promoted replica. What was lost or duplicated is counted from the workers' log lines and
/// printed, without and with `durability=replicated` (WAIT 1 after every write): Redis
/// replicates asynchronously, so without WAIT a push the old master acknowledged just before
/// it died can be gone; with WAIT no acknowledged push may be lost.
final class SentinelFailoverTests: XCTestCase {
    /// What the producer thread did, per task number.
    struct Pushes {
        var acknowledged: [Int: Double] = [:]
        var unconfirmed: [Int: String] = [:]
        var next = 0
        var stop = false
    }

    struct Outcome {
        var acknowledged: Int
        var unconfirmed: Int
        var lost: [Int]
        var lostAfterFailover: [Int]
        var duplicated: [Int]
        var carriedOnAfter: Double
    }

    func testHostsCarryOnThroughAFailoverWithAcknowledgedWrites() throws {
        let outcome = try failover(durability: nil)
        XCTAssertEqual(outcome.lostAfterFailover, [], "every task pushed after the promotion is worked")
    }

    func testHostsLoseNoAcknowledgedPushThroughAFailoverWithReplicatedWrites() throws {
        let outcome = try failover(durability: "replicated")
        XCTAssertEqual(outcome.lost, [], "with WAIT 1 after every push, no acknowledged push is lost")
    }

    func failover(durability: String?, file: StaticString = #filePath, line: UInt = #line) throws -> Outcome {
        let group = try SentinelGroup()
        let url = group.url(durability: durability)
        let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(try ProjectPaths.plugin("consumer"))",
                                     "--worker-class=Worker", "--concurrent-workers=2", "--redis=\(url)"])
        defer {
            host.signal(SIGTERM)
            host.wait(timeout: 30)
        }
        let pushes = Synchronization.Mutex(Pushes())
        let producer = HandOver(Broker(connector: RedisConnector(nodes: [RedisNode(url: url)!], logger: Logger(label: "producer"),
                                                                 reconnectTimeout: 60), encoder: TaskEncoder()))
        let finished = DispatchSemaphore(value: 0)
        Thread {
            while true {
                let n = pushes.withLock { state -> Int? in
                    guard !state.stop else { return nil }
                    state.next += 1
                    return state.next - 1
                }
                guard let n else { break }
                let started = MonotonicClock.now
                do {
                    try producer.value.push(tasks: [SergeantTask(kwargs: ["n": .int(Int64(n))])], queue: "test_worker")
                    pushes.withLock { $0.acknowledged[n] = started }
                } catch {
                    pushes.withLock { $0.unconfirmed[n] = "\(error)" }
                }
            }
            finished.signal()
        }.start()
        var producerStopped = false
        func stopProducer() {
            guard !producerStopped else { return }
            producerStopped = true
            pushes.withLock { $0.stop = true }
            finished.wait()
        }
        defer { stopProducer() }
        func worked() -> [Int: Int] {
            var counts: [Int: Int] = [:]
            for match in host.output.matches(of: /task parameters are: \{'n': (\d+)\}/) { counts[Int(match.1)!, default: 0] += 1 }
            return counts
        }
        try waitUntil(timeout: 60, "the workers to work 200 tasks") { worked().count >= 200 }

        let killed = try group.killMaster()
        let killedAt = MonotonicClock.now
        let promoted = try group.waitForFailover(from: killed)
        let promotedAt = MonotonicClock.now
        // The next failover needs a replica; with WAIT, so do the writes.
        try group.restart(port: killed)
        let ackedAtPromotion = pushes.withLock { $0.acknowledged.count }
        try waitUntil(timeout: 60, "300 more pushes after the promotion") { pushes.withLock { $0.acknowledged.count } >= ackedAtPromotion + 300 }
        let workedAtPromotion = worked().count
        var carriedOnAfter = 0.0
        try waitUntil(timeout: 60, "the workers to carry on") {
            carriedOnAfter = MonotonicClock.now - killedAt
            return worked().count > workedAtPromotion
        }
        stopProducer()

        // Until every acknowledged task was worked, or the queue is empty and nothing more
        // is worked for 3 s (a lost task never comes).
        let state = pushes.withLock { $0 }
        var lastCount = -1
        var quietSince = MonotonicClock.now
        try waitUntil(timeout: 90, "the queue to drain") {
            let counts = worked()
            if state.acknowledged.keys.allSatisfy({ counts[$0] != nil }) { return true }
            if counts.count != lastCount { lastCount = counts.count; quietSince = MonotonicClock.now }
            let queued = try group.servers[promoted]?.command("LLEN", "test_worker")
            return queued == ":0" && MonotonicClock.now - quietSince > 3
        }
        let counts = worked()
        let lost = state.acknowledged.keys.filter { counts[$0] == nil }.sorted()
        let outcome = Outcome(acknowledged: state.acknowledged.count, unconfirmed: state.unconfirmed.count, lost: lost,
                              lostAfterFailover: lost.filter { state.acknowledged[$0]! > promotedAt },
                              duplicated: counts.filter { $0.value > 1 }.keys.sorted(), carriedOnAfter: carriedOnAfter)
        print("sentinel failover, sergeant-host x2 + consumer plugin, durability \(durability ?? "acknowledged"):"
              + " \(outcome.acknowledged) pushes acknowledged (+\(outcome.unconfirmed) unconfirmed, not counted),"
              + " lost \(lost.count) \(lost.prefix(20)), duplicated \(outcome.duplicated.count) \(outcome.duplicated.prefix(20));"
              + String(format: " workers carried on %.1f s after the SIGKILL (promotion after %.1f s)", carriedOnAfter, promotedAt - killedAt))
        if !state.unconfirmed.isEmpty { print("unconfirmed pushes, e.g.: \(state.unconfirmed.first!.value)") }
        return outcome
    }
}

/// A value handed to one other thread, which alone uses it from then on.
final class HandOver<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
