import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport
import XCTest

/// The dashboard in a real headless Chromium (Tests/Browser/drive.py, the DevTools protocol
/// over a pipe): the DOM's numbers against Redis, kwargs that try to inject markup shown as
/// text, a screenshot kept under test-artefacts/, and a click on "Requeue all" that brings
/// one dead letter back to its queue (the other stays), then on "Requeue all" for the rest.
final class DashboardBrowserTests: XCTestCase {
    struct Reading: Decodable {
        var url: String
        var queues: [String: [String: String]]
        var workers: [String: Worker]
        var dead: [String: Dead]
        var notice: String?
        var images: Int
        var scripts: Int
        var injected: Int
        var xss: Int?
        var body: String
        var chartPoints: String?
        var chartProcessed: String?

        struct Worker: Decodable { var stale: Bool; var state: String; var host: String; var task: String; var in_flight: String }
        struct Dead: Decodable { var total: String; var rows: [[String]] }
    }

    struct Drive: Decodable { var before: Reading; var after: Reading?; var steps: [Reading] }

    func chromium() throws -> String {
        for path in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        throw XCTSkip("no chromium: install Debian's chromium (scripts/install-deps.sh)")
    }

    func testTheDashboardShowsRedisAndRequeuesFromClicks() async throws {
        let chromium = try chromium()
        let harness = try DashboardHarness()
        try harness.waitForAFreshBucket()
        try harness.seed()
        try await harness.start()
        try harness.seedHistory()
        let artefacts = ProjectPaths.root.appendingPathComponent("test-artefacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let screenshot = artefacts.appendingPathComponent("dashboard.png").path
        try? FileManager.default.removeItem(atPath: screenshot)

        let driver = ProjectPaths.root.appendingPathComponent("Tests/Browser/drive.py").path
        let started = Date()
        let driveStarted = unixTime()
        let result = try await harness.run(["/usr/bin/env", "CHROMIUM=\(chromium)", "python3", driver, harness.url + "/", screenshot,
                                            "--click", "form.requeue-one button", "--click", "form.requeue button"], timeout: 90)
        // The chart shows the hour's complete buckets before the page's own: a 10 s boundary
        // crossed since seedHistory() moves the window by a bucket (the oldest seeded one out,
        // seed()'s current one in), so every window the page could have read is allowed.
        let windows = (RateBuckets.index(of: driveStarted)...RateBuckets.index(of: unixTime())).map { bucket in
            (try? harness.broker.throughput(queues: [DashboardHarness.queue], at: (Double(bucket) + 0.5) * RateBuckets.width))
                .map { "\($0.reduce(0) { $0 + $1.processed })" }
        }
        let seededWindow = RateBuckets.index(of: driveStarted) == RateBuckets.index(of: harness.seededAt)
        await harness.stop()
        XCTAssertEqual(result.code, 0, result.output)
        let json = try XCTUnwrap(result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") }), result.output)
        let drive = try JSONDecoder().decode(Drive.self, from: Data(json.utf8))
        print("chromium drive took \(String(format: "%.1f", Date().timeIntervalSince(started))) s")

        // The numbers before the click are Redis's (3 queued; the 2 dead ones were set aside).
        let queue = DashboardHarness.queue
        let before = drive.before
        let row = try XCTUnwrap(before.queues[queue], "the queue's row: \(before.queues)")
        XCTAssertEqual(row["waiting"], "3")
        XCTAssertEqual(row["dead"], "2")
        let redisTotals = try XCTUnwrap(harness.broker.snapshot(queues: [queue]).queues.first?.totals)
        XCTAssertEqual(row["processed"], "\(redisTotals.processed)")
        XCTAssertEqual(row["processed"], "\(1234 + harness.seededHistory.processed)")
        XCTAssertEqual(before.dead[queue]?.total, "2")
        XCTAssertEqual(before.dead[queue]?.rows.count, 2)
        XCTAssertEqual(before.workers["vm-1-101-live"]?.stale, false)
        XCTAssertEqual(before.workers["vm-1-101-live"]?.state, "alive")
        XCTAssertEqual(before.workers["vm-1-101-live"]?.task, "order-77")
        XCTAssertEqual(before.workers["vm-2-202-late"]?.stale, true, "a heartbeat 60 s old is marked stale")
        XCTAssertEqual(before.chartPoints, "\(RateBuckets.history)", "the chart draws the hour's 10 s buckets")
        XCTAssertTrue(windows.contains(before.chartProcessed), "the chart's runs are the broker's buckets: \(before.chartProcessed ?? "none") not in \(windows)")
        if seededWindow, windows.count == 1 {
            XCTAssertEqual(before.chartProcessed, "\(harness.seededHistory.processed)", "the chart's runs are the seeded buckets")
        }

        // Hostile kwargs, reason and trace id are text on the page, never elements.
        XCTAssertEqual(before.images, 0, "an <img> from the kwargs became an element")
        XCTAssertEqual(before.injected, 0, "an onerror attribute from the kwargs became markup")
        XCTAssertEqual(before.scripts, 0, "a <script> from the kwargs became an element (refresh is off, so the page has none)")
        XCTAssertNil(before.xss)
        let firstRow = try XCTUnwrap(before.dead[queue]?.rows.first).joined(separator: " | ")
        XCTAssertTrue(firstRow.contains(DashboardHarness.hostileReason), firstRow)
        XCTAssertTrue(firstRow.contains("<script>window.__xss=1</script>"), firstRow)
        XCTAssertTrue(firstRow.contains("trace-<i>x</i>"), firstRow)

        // The screenshot: a PNG of the whole page.
        let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
        XCTAssertEqual(Array(png.prefix(4)), [0x89, 0x50, 0x4E, 0x47])
        XCTAssertGreaterThan(png.count, 10_000)

        // After the first click: the first dead letter (the hostile one) is back in the queue; the other stays dead.
        XCTAssertEqual(drive.steps.count, 2)
        let one = try XCTUnwrap(drive.steps.first)
        XCTAssertEqual(one.notice, "requeued entry 0 of \(queue).dead to \(queue)")
        XCTAssertEqual(one.queues[queue]?["waiting"], "4")
        XCTAssertEqual(one.queues[queue]?["dead"], "1")
        XCTAssertEqual(one.dead[queue]?.total, "1")
        let left = try XCTUnwrap(one.dead[queue]?.rows.first).joined(separator: " | ")
        XCTAssertTrue(left.contains("a@example.com") && left.contains("undecodable"), "the other entry is still dead: \(left)")

        // After "Requeue all": the rest is back in the queue, on the page and in Redis.
        let after = try XCTUnwrap(drive.after)
        XCTAssertEqual(after.notice, "requeued 1 task(s) to \(queue)")
        XCTAssertEqual(after.queues[queue]?["waiting"], "5")
        XCTAssertEqual(after.queues[queue]?["dead"], "0")
        XCTAssertEqual(try harness.broker.count(queue: queue, includeDelayed: false), 5)
        XCTAssertEqual(try harness.broker.deadLetterCount(queue: queue), 0)
        let tail = try harness.broker.peek(queue: queue, count: 5).map { try harness.broker.encoder.decode($0) }
        XCTAssertTrue(tail.contains { $0.kwargs == DashboardHarness.hostileKwargs && $0.runCount == 3 }, "the requeued task is the original")
    }
}
