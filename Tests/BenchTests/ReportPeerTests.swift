import XCTest

@testable import sergeant_bench

/// The table's peer columns and Ir/task column, from rows with known samples (no process runs:
/// the peers themselves run only in `make bench`).
final class ReportPeerTests: XCTestCase {
    private func row(_ kind: Kind, _ system: System, compressor: String? = nil, atLeastOnce: Bool? = nil, detail: String = "",
                     tasks: Int, seconds: [Double]) -> Row {
        let row = Row(section: "main", kind: kind, system: system, compressor: compressor, atLeastOnce: atLeastOnce,
                      detail: detail, tasks: tasks) { Sample(seconds: 0) }
        row.samples = seconds.map { Sample(seconds: $0, peakKilobytes: 1024) }
        return row
    }

    private func report(_ rows: [Row], callgrind: Bool = false) -> Report {
        let context = Report.Context(tasks: 1000, runs: 2, scalingRuns: 1, cores: 2, redisVersion: "7", pythonVersion: "3.11",
                                     sergeantVersion: "0.27.0", payloadBytes: 73, loadAtStart: "0", loadAtEnd: "0", minutes: 1,
                                     revision: nil, peerVersions: [.sidekiq: "Sidekiq 6.4.1"], peerTasks: 100,
                                     callgrindTasks: callgrind ? (5000, 1000) : nil)
        return Report(rows: rows, extras: [], context: context)
    }

    func testPeerRatiosCompareSecondsPerTaskAgainstThePeersFastestRow() throws {
        // Ours: 1,000 tasks in 0.1 s (100 µs each); Sidekiq: 100 jobs in 0.5 s (5 ms each) at
        // its default concurrency and 0.2 s (2 ms each) at 1: the fastest counts, 20x.
        let ours = row(.consumeOne, .this, compressor: "none", atLeastOnce: false, tasks: 1000, seconds: [0.1, 0.1])
        let batch = row(.consumeBatch, .this, compressor: "none", atLeastOnce: false, tasks: 1000, seconds: [0.01, 0.01])
        let defaultConcurrency = row(.consumeOne, .sidekiq, detail: "concurrency 10", tasks: 100, seconds: [0.5, 0.5])
        let oneThread = row(.consumeOne, .sidekiq, detail: "concurrency 1", tasks: 100, seconds: [0.2, 0.2])
        let report = report([ours, batch, defaultConcurrency, oneThread])

        XCTAssertTrue(report.comparedRow(.sidekiq, for: ours) === oneThread)
        XCTAssertEqual(try XCTUnwrap(report.ratio(to: .sidekiq, ours)), 20, accuracy: 1e-9)
        // Batch rows are compared with the peer's consume rows (no peer fetches in batches).
        XCTAssertEqual(try XCTUnwrap(report.ratio(to: .sidekiq, batch)), 200, accuracy: 1e-9)
        // A peer's slower row against its fastest; the fastest has no ratio to itself.
        XCTAssertEqual(try XCTUnwrap(report.ratio(to: .sidekiq, defaultConcurrency)), 0.4, accuracy: 1e-9)
        XCTAssertNil(report.ratio(to: .sidekiq, oneThread))
        // No RQ rows: no RQ ratio, and no RQ column.
        XCTAssertNil(report.ratio(to: .rq, ours))
        let table = report.table()
        let header = try XCTUnwrap(table.split(separator: "\n").first { $0.hasPrefix("row ") })
        XCTAssertTrue(header.contains("x Python") && header.contains("x Sidekiq"), String(header))
        XCTAssertFalse(header.contains("x RQ") || header.contains("x Dramatiq"), String(header))
        XCTAssertTrue(table.contains("sidekiq  = Sidekiq 6.4.1"), table)
        XCTAssertTrue(table.contains("20.00x"), table)
    }

    func testTargetsHoldTheSingleConsumeRowsToSidekiq() throws {
        // Sidekiq at concurrency 1: 2 ms per job. AMO 100 µs (20x, >= 5x met); ALO 600 µs (3.33x, under 4x).
        let amo = row(.consumeOne, .this, compressor: "none", atLeastOnce: false, tasks: 1000, seconds: [0.1])
        let alo = row(.consumeOne, .this, compressor: "none", atLeastOnce: true, tasks: 1000, seconds: [0.6])
        let oneThread = row(.consumeOne, .sidekiq, detail: "concurrency 1", tasks: 100, seconds: [0.2])
        let line = try XCTUnwrap(report([amo, alo, oneThread]).targets().first { $0.contains("Sidekiq") })
        XCTAssertTrue(line.contains("AMO 20.00x, ALO 3.33x"), line)
        XCTAssertTrue(line.hasSuffix("missed: ALO 600.00 µs/task against 2000.00 µs (Sidekiq)"), line)
        alo.samples = [Sample(seconds: 0.5)]
        let met = try XCTUnwrap(report([amo, alo, oneThread]).targets().first { $0.contains("Sidekiq") })
        XCTAssertTrue(met.hasSuffix("met"), met)
        XCTAssertNil(report([amo, alo]).targets().first { $0.contains("Sidekiq") }, "no Sidekiq rows, no line")
    }

    func testInstructionsPerTaskGetAColumnAndACSVField() throws {
        let ours = row(.pushOne, .this, compressor: "none", tasks: 1000, seconds: [0.1])
        ours.instructionsPerTask = 6767.4
        let python = row(.pushOne, .python, compressor: "none", tasks: 1000, seconds: [0.5])
        let report = report([ours, python], callgrind: true)

        let table = report.table()
        XCTAssertTrue(table.contains("Ir/task"), table)
        XCTAssertTrue(table.contains("6,767"), table)
        let csv = report.csv().split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let header = try XCTUnwrap(csv.first)
        let column = try XCTUnwrap(header.firstIndex(of: "ir_per_task"))
        let tasksColumn = try XCTUnwrap(header.firstIndex(of: "tasks"))
        XCTAssertEqual(csv[1][column], "6767")
        XCTAssertEqual(csv[1][tasksColumn], "1000")
        XCTAssertEqual(csv[2][column], "")
        XCTAssertTrue(header.contains("ratio_vs_sidekiq") && header.contains("ratio_vs_rq") && header.contains("ratio_vs_dramatiq"))
    }
}
