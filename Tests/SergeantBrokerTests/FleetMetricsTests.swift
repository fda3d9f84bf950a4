import Foundation
import Logging
import SergeantMetrics
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// The snapshot as Prometheus metrics, written by swift-prometheus and checked by promtool.
final class FleetMetricsTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    func testMetricsCarryTheSnapshotsNumbersAndPassPromtool() throws {
        let server = try RedisServer()
        let broker = Broker(connector: RedisConnector(nodes: [server.node], logger: logger), encoder: TaskEncoder())
        try broker.push(tasks: (0..<5).map { _ in SergeantTask(kwargs: [:]) }, queue: "q")
        try broker.push(tasks: [SergeantTask(kwargs: [:])], queue: "q", consumableFrom: unixTime() + 600)
        _ = try broker.pop(queue: "q", count: 2, inFlightFor: "A")
        var counts = OutcomeCounts()
        counts.add(outcome: "success", count: 3)
        counts.add(outcome: "failure")
        counts.add(duration: 0.02)
        counts.add(duration: 0.02)
        counts.add(duration: 3)
        broker.record(counts, queue: "q")
        try broker.publish(WorkerRecord(worker: "A", hostName: "vm-1", pid: 42, queue: "q", executor: "serial",
                                        startedAt: unixTime(), updatedAt: unixTime(), tasksDone: 4, residentBytes: 5_000_000, running: nil))
        let metrics = FleetMetrics()
        metrics.update(with: try broker.snapshot())
        var text = metrics.exposition()
        XCTAssertTrue(text.contains(#"sergeant_queue_waiting_tasks{queue="q"} 3"#), text)
        XCTAssertTrue(text.contains(#"sergeant_queue_delayed_tasks{queue="q",due="false"} 1"#), text)
        XCTAssertTrue(text.contains(#"sergeant_queue_in_flight_tasks{queue="q"} 2"#), text)
        XCTAssertTrue(text.contains(#"sergeant_task_runs_total{queue="q",outcome="succeeded"} 3"#), text)
        XCTAssertTrue(text.contains(#"sergeant_task_runs_total{queue="q",outcome="failed"} 1"#), text)
        XCTAssertTrue(text.contains(#"sergeant_workers{queue="q",state="live"} 1"#), text)
        XCTAssertTrue(text.contains(#"sergeant_worker_resident_bytes{queue="q",host="vm-1",pid="42"} 5000000"#), text)
        XCTAssertTrue(text.contains(#"sergeant_task_duration_seconds_bucket{queue="q",le="0.025"} 2"#), text)
        XCTAssertTrue(text.contains(#"sergeant_task_duration_seconds_count{queue="q"} 3"#), text)
        // A second update moves the counters by what grew only.
        counts = OutcomeCounts()
        counts.add(outcome: "success")
        broker.record(counts, queue: "q")
        try broker.flushCounts()
        metrics.update(with: try broker.snapshot())
        text = metrics.exposition()
        XCTAssertTrue(text.contains(#"sergeant_task_runs_total{queue="q",outcome="succeeded"} 4"#), text)
        try Promtool.check(text)
    }
}

/// `promtool check metrics` (Debian's prometheus package; .ci/run installs it).
enum Promtool {
    static func check(_ text: String) throws {
        let path = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { throw SupportError("promtool is missing: apt-get install prometheus (scripts/install-deps.sh does)") }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).txt")
        try Data(text.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let result = try ChildProcess.run(["/bin/sh", "-c", "\(path) check metrics < \(file.path)"])
        XCTAssertEqual(result.code, 0, "promtool check metrics: \(result.output)\n\(text)")
    }
}
