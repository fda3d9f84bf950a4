import Foundation
import SergeantTestSupport
import XCTest

/// The bounded form of `make soak`: `sergeant-soak` pushes 50,000 tasks per executor (serial,
/// threaded and async), at most 5,000 a second, through two worker processes of the benchmark
/// plugin, keeping the queue at most 5,000 deep, and samples the workers' RSS and descriptors
/// and Redis's used_memory. After the warm-up (6 s: past the heartbeat connection a worker
/// opens 5 s in) no worker may open a descriptor more, and its RSS may grow less than a loose
/// 25% (the full soak holds it to 5% over 2,000,000 tasks).
final class SoakTests: XCTestCase {
    func testWorkersNeitherLeakDescriptorsNorGrowUnderASteadyLoad() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let csv = directory.appendingPathComponent("soak.csv").path
        let result = try ChildProcess.run([
            try ProjectPaths.executable("sergeant-soak"),
            "--tasks", "50000", "--executors", "serial,threaded,async", "--workers", "2", "--depth", "5000", "--chunk", "500",
            "--rate", "5000", "--warm-up", "0.2", "--warm-up-seconds", "6", "--interval", "0.25", "--rss-growth-limit", "25",
            "--timeout", "60",
            "--csv", csv, "--plugin", try ProjectPaths.plugin("benchmark"), "--bin", ProjectPaths.binaries.path,
        ], timeout: 220)
        if result.code != 0 { print(result.output) }
        XCTAssertEqual(result.code, 0, "sergeant-soak failed (its output is above)")
        let lines = result.output.split(separator: "\n").map(String.init)
        for executor in ["serial", "threaded", "async"] {
            XCTAssertTrue(lines.contains { $0.hasPrefix("PASS \(executor): 50000 tasks") }, "no PASS line for \(executor):\n\(result.output)")
        }
        XCTAssertEqual(lines.last, "PASS", result.output)

        // The CSV: every executor, two workers and the supervisor each, descriptors flat after warm-up.
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").dropFirst().map { $0.split(separator: ",") }
        for executor in ["serial", "threaded", "async"] {
            let mine = rows.filter { $0[0] == executor }
            let workers = Set(mine.filter { $0[4] == "worker" }.map { $0[5] })
            XCTAssertEqual(workers.count, 2, "\(executor): samples of \(workers.count) workers")
            XCTAssertEqual(Set(mine.filter { $0[4] == "supervisor" }.map { $0[5] }).count, 1)
            for worker in workers {
                let after = mine.filter { $0[5] == worker && $0[9] != "warm-up" }
                XCTAssertGreaterThanOrEqual(after.count, 3, "\(executor) worker \(worker): too few samples after warm-up")
                XCTAssertEqual(Set(after.map { $0[7] }).count, 1, "\(executor) worker \(worker): descriptors changed: \(after.map { $0[7] })")
                XCTAssertTrue(after.allSatisfy { Int($0[6]) ?? 0 > 1000 }, "\(executor) worker \(worker): implausible RSS")
            }
            XCTAssertTrue(mine.allSatisfy { (Int($0[3]) ?? .max) <= 5000 }, "\(executor): the queue grew past --depth")
            XCTAssertTrue(mine.allSatisfy { (Int($0[8]) ?? 0) > 0 }, "\(executor): no redis used_memory")
        }
    }
}
