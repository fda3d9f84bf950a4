import Foundation
import SergeantTestSupport
import XCTest

/// The bounded form of `make chaos`: `sergeant-chaos` with 1,500 tasks, three workers and a
/// few faults (a worker SIGKILL, a supervisor SIGKILL and a redis-server restart come first,
/// in a random order). No task may be lost, and the dead-letter list must hold exactly the
/// poison task. On failure the output names the seed that repeats the run's choices. Once on
/// Redis, once on the local connector.
final class ChaosTests: XCTestCase {
    func testNoTaskIsLostWhenWorkersSupervisorsAndRedisDie() throws {
        try runChaos(["--redis-downtime", "0.5"])
    }

    /// The same on the local connector (one SQLite file, no redis-server): worker and
    /// supervisor SIGKILLs.
    func testNoTaskIsLostOnTheLocalConnectorWhenWorkersAndSupervisorsDie() throws {
        try runChaos(["--connector", "local"])
    }

    func runChaos(_ arguments: [String]) throws {
        let result = try ChildProcess.run([
            try ProjectPaths.executable("sergeant-chaos"),
            "--tasks", "1500", "--workers", "3", "--faults", "4", "--min-interval", "0.2", "--max-interval", "0.8",
            "--timeout", "100",
            "--plugin", try ProjectPaths.fixturePackage("chaos"), "--bin", ProjectPaths.binaries.path,
        ] + arguments, timeout: 150)
        func field(_ name: String) -> Int? {
            for line in result.output.split(separator: "\n") where line.hasPrefix("\(name):") {
                return line.dropFirst(name.count + 1).split(separator: " ").first.flatMap { Int($0) }
            }
            return nil
        }
        // The whole run (its fault timeline, summary, AOF trace of lost tasks) once, on failure.
        if result.code != 0 { print(result.output) }
        XCTAssertNotNil(field("pushed"), "sergeant-chaos printed no summary (its output is above)")
        XCTAssertGreaterThanOrEqual(field("faults") ?? 0, 1, "no fault was injected")
        XCTAssertEqual(field("lost"), 0, "tasks were lost (see the summary above)")
        XCTAssertEqual(field("dead"), 1, "the dead-letter list should hold exactly the poison task (see the summary above)")
        XCTAssertEqual(result.code, 0, "sergeant-chaos failed (see its output above)")
    }
}
