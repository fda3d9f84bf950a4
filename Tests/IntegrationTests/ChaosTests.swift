import Foundation
import SergeantTestSupport
import XCTest

/// The bounded form of `make chaos`: `sergeant-chaos` with 1,500 tasks, three workers and a
/// few faults (a worker SIGKILL, a supervisor SIGKILL and a redis-server restart come first,
/// in a random order). No task may be lost, and the dead-letter list must hold exactly the
/// poison task. On failure the output names the seed that repeats the run's choices. On one
/// redis-server, on a Redis Cluster (`--broker cluster`) and on the local connector.
final class ChaosTests: XCTestCase {
    func testNoTaskIsLostWhenWorkersSupervisorsAndRedisDie() throws {
        try assertNoTaskIsLost([
            "--tasks", "1500", "--workers", "3", "--faults", "4", "--min-interval", "0.2", "--max-interval", "0.8",
            "--redis-downtime", "0.5", "--timeout", "100",
        ])
    }

    /// On a Redis Cluster (3 masters, 3 replicas, a queue of 3 shards): worker and supervisor
    /// SIGKILLs and the SIGKILL of a master (its replica is promoted, it comes back as a
    /// replica). About 35 s: recovering a SIGKILLed supervisor's workers waits for their
    /// heartbeats to expire.
    func testNoTaskIsLostOnARedisClusterWhenWorkersSupervisorsAndMastersDie() throws {
        try assertNoTaskIsLost([
            "--broker", "cluster",
            "--tasks", "1500", "--workers", "3", "--faults", "4", "--min-interval", "0.3", "--max-interval", "1.0",
            "--timeout", "100",
        ])
    }

    /// The same on the local connector (one SQLite file, no redis-server): worker and
    /// supervisor SIGKILLs.
    func testNoTaskIsLostOnTheLocalConnectorWhenWorkersAndSupervisorsDie() throws {
        try assertNoTaskIsLost([
            "--connector", "local",
            "--tasks", "1500", "--workers", "3", "--faults", "4", "--min-interval", "0.2", "--max-interval", "0.8",
            "--timeout", "100",
        ])
    }

    /// The async executor: each SIGKILL of a worker lands with up to 20 tasks in flight in it,
    /// acknowledged one by one as they end (about 30 s: more tasks than above, as they go
    /// faster, so that the faults land while the queue is full).
    func testNoTaskIsLostWithTheAsyncExecutor() throws {
        try assertNoTaskIsLost([
            "--tasks", "4000", "--workers", "2", "--async", "20", "--faults", "4", "--min-interval", "0.2",
            "--max-interval", "0.6", "--redis-downtime", "0.5", "--timeout", "100",
        ])
    }

    /// The async executor on the local connector: tasks added to a worker's in-flight rows and
    /// acknowledged one by one, workers and supervisors SIGKILLed.
    func testNoTaskIsLostWithTheAsyncExecutorOnTheLocalConnector() throws {
        try assertNoTaskIsLost([
            "--connector", "local",
            "--tasks", "3000", "--workers", "2", "--async", "20", "--faults", "4", "--min-interval", "0.2",
            "--max-interval", "0.6", "--timeout", "100",
        ])
    }

    /// `--broker sentinel --durability replicated`: the workers reach a master, its replica
    /// and three sentinels through redis-sentinel://; a master SIGKILL (the sentinels promote
    /// the replica, the killed server comes back as its replica), a worker SIGKILL and a
    /// supervisor SIGKILL, in a random order. With WAIT 1 after every write no task may be lost.
    func testNoTaskIsLostThroughSentinelFailovers() throws {
        try assertNoTaskIsLost([
            "--broker", "sentinel", "--durability", "replicated", "--fault-kinds", "failover,worker,supervisor",
            "--tasks", "3000", "--workers", "3", "--faults", "3", "--min-interval", "0.2", "--max-interval", "0.8",
            "--timeout", "120",
        ])
    }

    func assertNoTaskIsLost(_ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant-chaos")] + arguments + [
            "--plugin", try ProjectPaths.fixturePackage("chaos"), "--bin", ProjectPaths.binaries.path,
        ], timeout: 150)
        func field(_ name: String) -> Int? {
            for line in result.output.split(separator: "\n") where line.hasPrefix("\(name):") {
                return line.dropFirst(name.count + 1).split(separator: " ").first.flatMap { Int($0) }
            }
            return nil
        }
        // The whole run (its fault timeline, summary, AOF trace of lost tasks) once, on failure.
        if result.code != 0 { print(result.output) }
        XCTAssertNotNil(field("pushed"), "sergeant-chaos printed no summary (its output is above)", file: file, line: line)
        XCTAssertGreaterThanOrEqual(field("faults") ?? 0, 1, "no fault was injected", file: file, line: line)
        XCTAssertEqual(field("lost"), 0, "tasks were lost (see the summary above)", file: file, line: line)
        XCTAssertEqual(field("dead"), 1, "the dead-letter list should hold exactly the poison task (see the summary above)", file: file, line: line)
        XCTAssertEqual(result.code, 0, "sergeant-chaos failed (see its output above)", file: file, line: line)
    }
}
