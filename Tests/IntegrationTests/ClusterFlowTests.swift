import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// The seed's flow and a failover under load on a Redis Cluster (3 masters, 3 replicas on
/// loopback): the seed's worker runs unchanged, only `--redis` (SERGEANT_REDIS) differs.
final class ClusterFlowTests: XCTestCase {
    var cluster: RedisCluster!
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    override func setUpWithError() throws {
        cluster = try RedisCluster()
    }

    override func tearDown() {
        cluster = nil
    }

    func sergeant(_ url: String, _ arguments: String...) throws -> (code: Int32, output: String) {
        try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments, environment: ["SERGEANT_REDIS": url])
    }

    func trimmed(_ text: String) -> String { text.trimmingCharacters(in: .whitespacesAndNewlines) }

    func testSeedWorkerRunsUnchangedOnACluster() throws {
        let plugin = try ProjectPaths.plugin("consumer")
        let url = cluster.url
        let push = try sergeant(url, "push", "--worker-module=\(plugin)", "--worker-class=Worker",
                                "--kwargs", #"{"some_parameter": "one"}"#, "--purge")
        XCTAssertEqual(push.code, 0, push.output)
        let master = try XCTUnwrap(try cluster.master(of: "{test_worker}"))
        XCTAssertEqual(trimmed(try cluster.cli(master, "LLEN", "{test_worker}")), "1", "the queue's key carries its hash tag")

        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                           "--worker-class=Worker", "--concurrent-worker=1"], environment: ["SERGEANT_REDIS": url])
        try waitUntil(timeout: 30, "the worker to log the task") {
            supervisor.output.contains("task parameters are: {'some_parameter': 'one'}")
        }
        XCTAssertEqual(try sergeant(url, "count", "--worker-module=\(plugin)", "--worker-class=Worker").output
            .split(separator: "\n").last, "0")
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertTrue(supervisor.output.contains("supervisor has stopped"), supervisor.output)
    }

    // MARK: Failover under load

    func testMasterKilledUnderLoadWithAcknowledgedWrites() throws {
        let result = try failover(durability: .acknowledged)
        print("cluster failover, durability acknowledged: \(result)")
    }

    func testMasterKilledUnderLoadWithReplicatedWrites() throws {
        let result = try failover(durability: .replicated)
        print("cluster failover, durability replicated: \(result)")
        XCTAssertEqual(result.lost, 0, "a push that returned was on a replica: \(result)")
    }

    struct FailoverResult: CustomStringConvertible {
        var tasks = 0, lost = 0, duplicated = 0, failedPushes = 0
        var description: String {
            "\(tasks) tasks over 3 shards, SIGKILL of a master after a third: lost \(lost), duplicated \(duplicated)"
                + " (\(failedPushes) push(es) failed and were sent again)"
        }
    }

    /// Pushes numbered tasks (half before the workers start, half while they run, paced by
    /// them) to a queue
    /// of 3 shards, SIGKILLs the master of one shard once a third has run, waits for its
    /// replica's promotion, brings the old master back (a replica now), and counts what the
    /// chaos plugin recorded once everything drained.
    func failover(durability: RedisDurability, tasks: Int = 2_000) throws -> FailoverResult {
        let url = cluster.url(query: "shards=3&durability=\(durability.rawValue)")
        let queue = "failover"
        let broker = Broker(connector: RedisClusterConnector(node: try XCTUnwrap(RedisNode(url: url)), logger: logger),
                            encoder: TaskEncoder())
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("cluster-failover-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        var result = FailoverResult(tasks: tasks)
        func push(_ numbers: Range<Int>) throws {
            let batch = numbers.map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }
            let deadline = Date().addingTimeInterval(60)
            while true {
                // A push that failed (the master died, or no replica confirmed it) goes again.
                let failure: BrokerError?
                do {
                    try broker.push(tasks: batch, queue: queue)
                    failure = nil
                } catch {
                    failure = error
                }
                guard let failure else { return }
                guard Date() < deadline else { throw failure }
                result.failedPushes += 1
            }
        }
        for start in stride(from: 0, to: tasks / 2, by: 50) { try push(start..<min(start + 50, tasks / 2)) }
        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"),
                                           "--worker-module=\(try ProjectPaths.fixturePackage("chaos"))",
                                           "--worker-class=ChaosWorker", "--concurrent-workers=2"],
                                          environment: ["SERGEANT_REDIS": url, "CHAOS_OUTPUT": output, "CHAOS_QUEUE": queue,
                                                        "CHAOS_BATCH": "10"])
        defer {
            supervisor.signal(SIGTERM)
            supervisor.wait(timeout: 30)
        }
        func done() -> [Int] {
            ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int($0) }
        }
        // The second half goes in while the workers run; the kill comes after a third.
        var killed: RedisServer?
        var restarted = false
        // The old master comes back as its replica's replica (its nodes.conf is kept) once
        // the replica took over: until then, with durability replicated, no write of that
        // shard is confirmed (its new master has no replica).
        func restartAfterFailover() throws {
            guard let killed, !restarted, try cluster.masters().count == 3 else { return }
            try killed.start()
            restarted = true
        }
        let tag = RedisClusterShards.tags(of: queue, shards: 3)[0]
        for start in stride(from: tasks / 2, to: tasks, by: 10) {
            // Paced by the workers (at most 300 ahead), so pushes go on through the failover.
            try waitUntil(timeout: 120, "the workers to catch up") {
                try restartAfterFailover()
                return done().count >= start - 300
            }
            try push(start..<min(start + 10, tasks))
            if killed == nil, done().count >= tasks / 3 {
                let master = try XCTUnwrap(try cluster.master(of: "{\(tag)}"))
                master.kill()
                killed = master
            }
        }
        if killed == nil {
            try waitUntil(timeout: 120, "a third of the tasks to run") { done().count >= tasks / 3 }
            let master = try XCTUnwrap(try cluster.master(of: "{\(tag)}"))
            master.kill()
            killed = master
        }
        if !restarted {
            try cluster.waitForFailover(of: try XCTUnwrap(killed), masters: 3)
            try restartAfterFailover()
        }
        try cluster.waitUntilHealthy(timeout: 60)
        // Drained: nothing queued, delayed, recovered or in flight on any master.
        try waitUntil(timeout: 180, "the queue and the in-flight lists to drain") {
            guard (try? broker.count(queue: queue, includeDelayed: true)) == 0 else { return false }
            for master in try cluster.masters() {
                let lists = try cluster.cli(master, "--scan", "--pattern", "*processing.*").split(separator: "\n")
                for list in lists where trimmed(try cluster.cli(master, "LLEN", String(list))) != "0" { return false }
            }
            return true
        }
        let numbers = done()
        let distinct = Set(numbers)
        result.lost = tasks - distinct.intersection(0..<tasks).count
        result.duplicated = numbers.count - distinct.count
        return result
    }
}
