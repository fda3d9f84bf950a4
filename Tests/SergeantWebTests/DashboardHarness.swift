import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport
import SergeantWeb
import XCTest

/// A real redis-server, a broker on it with a known fleet (queued tasks, two workers, dead
/// letters whose kwargs try to inject markup), and the dashboard serving it on a free port.
final class DashboardHarness: @unchecked Sendable {
    static let queue = "emails"
    /// Kwargs that would run script if the page did not escape them.
    static let hostileKwargs: ValueMap = [
        "body": .string("<script>window.__xss=1</script>"),
        "attr": .string("\"><img src=x onerror=\"window.__xss=2\">"),
    ]
    static let hostileReason = "<b>poison</b> task killed 3 workers"

    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }
    let redis: RedisServer
    let broker: Broker
    private var serving: Task<Void, any Error>?
    private(set) var port = 0
    private(set) var server: DashboardServer?

    init() throws {
        redis = try RedisServer()
        broker = Broker(connector: RedisConnector(nodes: [redis.node], logger: logger), encoder: TaskEncoder())
    }

    /// Three queued tasks, a live worker running a task and a stale one, two dead letters.
    func seed() throws {
        try broker.push(tasks: (0..<3).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }, queue: Self.queue)
        let now = unixTime()
        for (name, updated) in [("vm-1-101-live", now), ("vm-2-202-late", now - 60)] {
            try broker.publish(WorkerRecord(worker: name, hostName: "vm-\(name.hasSuffix("live") ? 1 : 2)", pid: 101, queue: Self.queue,
                                            executor: "serial", startedAt: now - 300, updatedAt: updated, tasksDone: 12,
                                            residentBytes: 24 << 20, running: .init(traceID: "order-77", since: now - 4)))
        }
        var counts = OutcomeCounts()
        counts.processed = 1234
        counts.succeeded = 1200
        counts.failed = 34
        broker.record(counts, queue: Self.queue)
        try broker.flushCounts()
        let hostile = SergeantTask(kwargs: Self.hostileKwargs, traceID: "trace-<i>x</i>", runCount: 3)
        let plain = SergeantTask(kwargs: ["to": .string("a@example.com")], traceID: "trace-2", runCount: 1)
        try broker.setAside([DeadLetter(task: try broker.encoder.encode(hostile), reason: Self.hostileReason).encoded,
                             DeadLetter(task: try broker.encoder.encode(plain), reason: "undecodable").encoded], queue: Self.queue)
    }

    /// Starts the dashboard with `settings` (port 0) and waits for its port.
    func start(_ configure: (inout DashboardSettings) -> Void = { _ in }) async throws {
        var settings = DashboardSettings()
        settings.port = 0
        settings.refreshSeconds = 0
        settings.queues = [Self.queue]
        configure(&settings)
        let server = try DashboardServer(broker: broker, settings: settings, logger: logger)
        self.server = server
        (port, serving) = await Self.serve(server)
        XCTAssertGreaterThan(port, 0)
    }

    /// Another dashboard on the same Redis, with its own broker (as a second host's would be):
    /// its URL and the task serving it (cancel it to stop).
    func startAnother() async throws -> (url: String, serving: Task<Void, any Error>) {
        var settings = DashboardSettings()
        settings.port = 0
        settings.refreshSeconds = 0
        settings.queues = [Self.queue]
        let other = Broker(connector: RedisConnector(nodes: [redis.node], logger: logger), encoder: TaskEncoder())
        let (port, serving) = await Self.serve(try DashboardServer(broker: other, settings: settings, logger: logger))
        return ("http://127.0.0.1:\(port)", serving)
    }

    /// Serves `server` on its port; returns the port it got.
    static func serve(_ server: DashboardServer) async -> (Int, Task<Void, any Error>) {
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let serving = Task { try await server.application { continuation.yield($0) }.runService() }
        for await port in ports { return (port, serving) }
        return (0, serving)
    }

    /// The processed and failed runs of the hour's rate buckets that ``seedHistory()`` added.
    private(set) var seededHistory = (processed: 0, failed: 0)
    /// When ``seedHistory()`` ran: its buckets are the hour before this time's bucket.
    private(set) var seededAt = 0.0

    /// An hour of rate buckets in the broker (a day-like wave of 0 to 40 tasks/s, a few failed),
    /// for the chart: the workers' own counters, as they would have added them.
    /// Waits (polling the clock, 12 s at most) until a 10 s rate bucket has just begun, so that
    /// a test that seeds and reads the chart within a few seconds sees one window.
    func waitForAFreshBucket() throws {
        try waitUntil(timeout: 12, "a rate bucket's first second") {
            unixTime() - Double(RateBuckets.index(of: unixTime())) * RateBuckets.width < 1
        }
    }

    func seedHistory() throws {
        let now = unixTime()
        seededAt = now
        for age in 1...RateBuckets.history {
            var counts = OutcomeCounts()
            counts.processed = Int(10 * (20 + 20 * sin(Double(age) / 50)))
            counts.failed = age % 7 == 0 ? 3 : 0
            counts.succeeded = counts.processed - counts.failed
            broker.record(counts, queue: Self.queue, at: now - Double(age) * RateBuckets.width)
            seededHistory.processed += counts.processed
            seededHistory.failed += counts.failed
        }
        try broker.flushCounts()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Runs a command without blocking the server's threads, polling for its end with a deadline.
    func run(_ arguments: [String], timeout: Double = 60) async throws -> (code: Int32, output: String) {
        let child = try ChildProcess(arguments)
        let deadline = Date().addingTimeInterval(timeout)
        while child.isRunning {
            guard Date() < deadline else {
                child.signal(SIGKILL)
                throw XCTSkip("\(arguments[0]) did not finish in \(timeout) s; output:\n\(child.output)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return (child.wait() ?? -1, child.output)
    }

    /// curl with `arguments`; returns the status code line's number and the body.
    func curl(_ path: String, _ arguments: [String] = [], base: String? = nil) async throws -> (status: Int, body: String) {
        let marker = "\n--status:"
        let result = try await run(["/usr/bin/curl", "-s", "-w", marker + "%{http_code}"] + arguments + [(base ?? url) + path])
        XCTAssertEqual(result.code, 0, result.output)
        guard let range = result.output.range(of: marker, options: .backwards) else { return (0, result.output) }
        return (Int(result.output[range.upperBound...].trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0,
                String(result.output[..<range.lowerBound]))
    }

    func stop() async {
        serving?.cancel()
        _ = await serving?.result
        serving = nil
    }
}
