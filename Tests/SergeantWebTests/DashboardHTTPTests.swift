import Foundation
import SergeantBroker
import SergeantTestSupport
import SergeantWeb
import XCTest

/// The dashboard's security rules and routes over real HTTP (curl): authentication, CSRF on
/// the state-changing POSTs, escaping on the task view, /metrics.
final class DashboardHTTPTests: XCTestCase {
    func testOnlyLoopbackMayGoWithoutAuthentication() throws {
        var settings = DashboardSettings()
        XCTAssertNoThrow(try settings.validate(), "127.0.0.1 by default, no token needed")
        settings.host = "0.0.0.0"
        XCTAssertThrowsError(try settings.validate()) { XCTAssertEqual(($0 as? DashboardError)?.kind, .unauthenticatedBind) }
        settings.authToken = "a-long-token"
        XCTAssertNoThrow(try settings.validate())
        settings.authToken = nil
        XCTAssertThrowsError(try settings.setBasicCredentials("nopassword")) { XCTAssertEqual(($0 as? DashboardError)?.kind, .malformedCredentials) }
        try settings.setBasicCredentials("ops:pa:ss")
        XCTAssertEqual(settings.basicCredentials?.password, "pa:ss")
        XCTAssertNoThrow(try settings.validate())
    }

    func testEscapingCoversEveryMarkupCharacter() {
        XCTAssertEqual(HTML.escape("\"><img src=x onerror='a&b'>"), "&quot;&gt;&lt;img src=x onerror=&#39;a&amp;b&#39;&gt;")
        XCTAssertEqual(HTML.queryEscape("a b&c/é"), "a%20b%26c%2F%C3%A9")
    }

    func testTokenOrBasicAuthIsRequiredWhenConfigured() async throws {
        let harness = try DashboardHarness()
        try harness.seed()
        try await harness.start { settings in
            settings.authToken = "s3cret-token"
            try? settings.setBasicCredentials("ops:hunter22")
        }
        let anonymous = try await harness.curl("/")
        XCTAssertEqual(anonymous.status, 401)
        let status1 = try await harness.curl("/metrics").status
        XCTAssertEqual(status1, 401)
        let status2 = try await harness.curl("/", ["-H", "Authorization: Bearer wrong-token"]).status
        XCTAssertEqual(status2, 401)
        let status3 = try await harness.curl("/", ["-H", "Authorization: Bearer s3cret-token"]).status
        XCTAssertEqual(status3, 200)
        let status4 = try await harness.curl("/", ["-u", "anyone:s3cret-token"]).status
        XCTAssertEqual(status4, 200, "the token as basic auth's password")
        let status5 = try await harness.curl("/", ["-u", "ops:hunter22"]).status
        XCTAssertEqual(status5, 200)
        let status6 = try await harness.curl("/", ["-u", "ops:hunter2"]).status
        XCTAssertEqual(status6, 401)
        await harness.stop()
    }

    func testStateChangesNeedThePagesCSRFTokenAndOrigin() async throws {
        let harness = try DashboardHarness()
        try harness.seed()
        try await harness.start()
        let queue = DashboardHarness.queue
        let page = try await harness.curl("/")
        XCTAssertEqual(page.status, 200)
        let token = try XCTUnwrap(page.body.range(of: "name=\"csrf\" value=\"").map { String(page.body[$0.upperBound...].prefix(64)) })

        let noToken = try await harness.curl("/dead/requeue", ["-d", "queue=\(queue)"])
        XCTAssertEqual(noToken.status, 403, noToken.body)
        let wrongToken = try await harness.curl("/dead/drop", ["-d", "queue=\(queue)&csrf=\(String(repeating: "0", count: 64))"])
        XCTAssertEqual(wrongToken.status, 403, wrongToken.body)
        let otherSite = try await harness.curl("/dead/drop", ["-H", "Origin: http://evil.example", "-d", "queue=\(queue)&csrf=\(token)"])
        XCTAssertEqual(otherSite.status, 403, otherSite.body)
        let crossSite = try await harness.curl("/dead/drop", ["-H", "Sec-Fetch-Site: cross-site", "-d", "queue=\(queue)&csrf=\(token)"])
        XCTAssertEqual(crossSite.status, 403, crossSite.body)
        let status7 = try await harness.curl("/dead/requeue", ["-X", "GET"]).status
        XCTAssertEqual(status7, 404, "no state change by GET")
        XCTAssertEqual(try harness.broker.deadLetterCount(queue: queue), 2, "nothing refused changed anything")

        let sameOrigin = try await harness.curl("/dead/drop", ["-H", "Origin: \(harness.url)", "-d", "queue=\(queue)&csrf=\(token)"])
        XCTAssertEqual(sameOrigin.status, 303, sameOrigin.body)
        XCTAssertEqual(try harness.broker.deadLetterCount(queue: queue), 0, "dropped")
        XCTAssertEqual(try harness.broker.count(queue: queue, includeDelayed: false), 3, "the queue is untouched")
        await harness.stop()
    }

    func testTaskViewEscapesKwargsAndMetricsAreServed() async throws {
        let harness = try DashboardHarness()
        try harness.seed()
        try await harness.start()
        let view = try await harness.curl("/task?queue=\(DashboardHarness.queue)&in=dead&index=0")
        XCTAssertEqual(view.status, 200)
        XCTAssertTrue(view.body.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;"), view.body)
        XCTAssertTrue(view.body.contains("&quot;&gt;&lt;img src=x onerror="), view.body)
        XCTAssertFalse(view.body.contains("<script"), "no script element on the task view")
        XCTAssertFalse(view.body.contains("<img"))
        XCTAssertTrue(view.body.contains("data-field=\"run_count\">3<"), view.body)
        XCTAssertTrue(view.body.contains("&lt;b&gt;poison&lt;/b&gt;"), "the reason is escaped too")
        let queued = try await harness.curl("/task?queue=\(DashboardHarness.queue)&in=queue&index=2")
        XCTAssertTrue(queued.body.contains("{&quot;n&quot;:2}"), queued.body)
        let status8 = try await harness.curl("/task?queue=\(DashboardHarness.queue)&in=dead&index=9").status
        XCTAssertEqual(status8, 404)

        let metrics = try await harness.curl("/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.body.contains("sergeant_queue_waiting_tasks"), metrics.body)
        XCTAssertTrue(metrics.body.contains("queue=\"\(DashboardHarness.queue)\""), metrics.body)
        let snapshot = try await harness.curl("/api/snapshot")
        XCTAssertTrue(snapshot.body.contains("\"waiting\":3"), snapshot.body)
        await harness.stop()
    }

    /// The chart's rate buckets live in the broker: a dashboard started after the runs (a
    /// second one, on its own broker connection) draws the same hour as the first.
    func testTwoDashboardsDrawTheSameChartFromTheBroker() async throws {
        let harness = try DashboardHarness()
        try harness.waitForAFreshBucket()
        try harness.seed()
        try harness.seedHistory()
        try await harness.start()
        let (other, serving) = try await harness.startAnother()
        let first = try await harness.curl("/api/throughput")
        let second = try await harness.curl("/api/throughput", base: other)
        XCTAssertEqual(first.status, 200, first.body)
        let samples = try JSONDecoder().decode([ThroughputSample].self, from: Data(first.body.utf8))
        XCTAssertEqual(samples.count, RateBuckets.history, "an hour of 10 s buckets")
        XCTAssertEqual(samples.reduce(0) { $0 + $1.processed }, harness.seededHistory.processed)
        XCTAssertEqual(samples.reduce(0) { $0 + $1.failed }, harness.seededHistory.failed)
        XCTAssertEqual(try JSONDecoder().decode([ThroughputSample].self, from: Data(second.body.utf8)), samples,
                       "the other dashboard reads the same samples")
        let pages = [try await harness.curl("/").body, try await harness.curl("/", base: other).body]
        for page in pages {
            XCTAssertTrue(page.contains("data-points=\"\(RateBuckets.history)\" data-processed=\"\(harness.seededHistory.processed)\""
                                        + " data-failed=\"\(harness.seededHistory.failed)\""), page)
        }
        serving.cancel()
        _ = await serving.result
        await harness.stop()
    }

    /// One dead letter by its buttons' form (entry and digest): requeued or dropped, the others
    /// stay; a stale form (the entry already gone) changes nothing.
    func testOneDeadLetterIsRequeuedAndAnotherDroppedByTheirForms() async throws {
        let harness = try DashboardHarness()
        try harness.seed()
        try await harness.start()
        let queue = DashboardHarness.queue
        let page = try await harness.curl("/").body
        let token = try XCTUnwrap(page.range(of: "name=\"csrf\" value=\"").map { String(page[$0.upperBound...].prefix(64)) })
        let entries = try harness.broker.deadLetterEntries(queue: queue, limit: 10)
        XCTAssertEqual(entries.count, 2)
        XCTAssertTrue(page.contains("data-digest=\"\(entries[1].digest)\""), page)
        func post(_ action: String, _ entry: DeadLetterEntry) async throws -> (status: Int, body: String) {
            try await harness.curl("/dead/\(action)", ["-D", "-", "-d", "queue=\(queue)&csrf=\(token)&entry=\(entry.index)&digest=\(entry.digest)"])
        }
        let requeued = try await post("requeue", entries[1])
        XCTAssertEqual(requeued.status, 303, requeued.body)
        XCTAssertTrue(requeued.body.contains("requeued%20entry%201"), requeued.body)
        XCTAssertEqual(try harness.broker.count(queue: queue, includeDelayed: false), 4, "the one task is back")
        XCTAssertEqual(try harness.broker.deadLetterEntries(queue: queue, limit: 10).map(\.bytes), [entries[0].bytes], "the other stays")
        let again = try await post("requeue", entries[1])
        XCTAssertTrue(again.body.contains("no%20longer%20there"), again.body)
        XCTAssertEqual(try harness.broker.count(queue: queue, includeDelayed: false), 4, "a stale form pushes nothing")
        let dropped = try await post("drop", entries[0])
        XCTAssertEqual(dropped.status, 303, dropped.body)
        XCTAssertEqual(try harness.broker.deadLetterCount(queue: queue), 0)
        XCTAssertEqual(try harness.broker.count(queue: queue, includeDelayed: false), 4, "dropping pushes nothing")
        await harness.stop()
    }
}
