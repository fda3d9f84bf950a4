#if canImport(Glibc)
import Glibc
#endif
import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport
import XCTest

/// Issue 13's "same numbers everywhere": two `sergeant-host`s on one Redis, and every view of
/// the fleet (`sergeant stats --json` and its table, `sergeant web`'s JSON, HTML and
/// `/metrics`, each host's `/metrics`) shows the same waiting, in flight, processed and live
/// workers; and `sergeant stats --watch` on a terminal redraws when a task is pushed.
final class FleetViewsTests: XCTestCase {
    var server: RedisServer!
    var children: [ChildProcess] = []

    override func setUpWithError() throws {
        server = try RedisServer()
    }

    override func tearDown() {
        // Each host in its own process group: its workers go with it, mid-task.
        for child in children where child.isRunning {
            kill(-child.pid, SIGKILL)
            _ = child.wait(timeout: 10)
        }
        children = []
        server = nil
    }

    func sergeant(_ arguments: [String]) throws -> (code: Int32, output: String) {
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments, environment: ["SERGEANT_REDIS": server.url])
        return (result.code, result.output)
    }

    func push(_ plugin: String, _ kwargs: [String]) throws {
        let result = try sergeant(["push", "--worker-module=\(plugin)", "--worker-class=Parity"] + kwargs.flatMap { ["--kwargs", $0] })
        XCTAssertEqual(result.code, 0, result.output)
    }

    func start(_ arguments: [String]) throws -> ChildProcess {
        let child = try ChildProcess(arguments, environment: ["SERGEANT_REDIS": server.url], processGroup: true)
        children.append(child)
        return child
    }

    func get(_ url: String) throws -> String {
        let result = try ChildProcess.run(["/usr/bin/curl", "-sf", url])
        return result.code == 0 ? result.output : ""
    }

    func snapshot() throws -> QueueStats? {
        let result = try sergeant(["stats", "--json"])
        guard result.code == 0, let start = result.output.firstIndex(of: "{"), let end = result.output.lastIndex(of: "}") else { return nil }
        let snapshot = try JSONDecoder().decode(FleetSnapshot.self, from: Data(result.output[start...end].utf8))
        return snapshot.queues.first { $0.name == "parity" }
    }

    /// The numbers one view shows.
    struct Numbers: Equatable, CustomStringConvertible {
        var waiting: Int?
        var inFlight: Int?
        var processed: Int?
        var liveWorkers: Int?
        var description: String { "waiting \(waiting ?? -1), in flight \(inFlight ?? -1), processed \(processed ?? -1), live \(liveWorkers ?? -1)" }
    }

    /// The number that group 1 of `pattern` matches in `text`.
    static func number(_ pattern: String, in text: String) -> Int? {
        guard let expression = try? NSRegularExpression(pattern: pattern),
              let match = expression.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range(at: 1), in: text) else { return nil }
        return Int(text[range])
    }

    static func fromMetrics(_ text: String) -> Numbers {
        Numbers(waiting: number(#"sergeant_queue_waiting_tasks\{queue="parity"\} (\d+)"#, in: text),
                inFlight: number(#"sergeant_queue_in_flight_tasks\{queue="parity"\} (\d+)"#, in: text),
                processed: number(#"sergeant_task_runs_total\{queue="parity",outcome="succeeded"\} (\d+)"#, in: text),
                liveWorkers: number(#"sergeant_workers\{queue="parity",state="live"\} (\d+)"#, in: text))
    }

    func testEveryViewOfTwoHostsShowsTheSameNumbers() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        let (portA, portB, webPort) = (try freePort(), try freePort(), try freePort())
        for port in [portA, portB] {
            _ = try start([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)", "--worker-class=Parity",
                           "--concurrent-workers=1", "--metrics-port=\(port)"])
        }
        let web = try start([try ProjectPaths.executable("sergeant"), "web", "--port", "\(webPort)", "--refresh", "0"])
        // Six quick runs; then a 40 s task for each worker, and three tasks that wait behind them.
        try push(plugin, (0..<6).map { #"{"action": "tally", "n": \#($0)}"# })
        try waitUntil(timeout: 60, "the six runs counted") { try snapshot()?.totals?.succeeded == 6 }
        try push(plugin, [#"{"action": "tally", "ms": 40000, "n": 100}"#, #"{"action": "tally", "ms": 40000, "n": 101}"#])
        try waitUntil(timeout: 30, "both workers busy") { try snapshot()?.inFlightTotal == 2 }
        try push(plugin, (0..<3).map { #"{"action": "tally", "n": \#(200 + $0)}"# })
        let expected = Numbers(waiting: 3, inFlight: 2, processed: 6, liveWorkers: 2)

        let stats = try XCTUnwrap(try snapshot())
        XCTAssertEqual(Numbers(waiting: stats.waiting, inFlight: stats.inFlightTotal, processed: stats.totals?.processed,
                               liveWorkers: stats.workers?.filter { $0.stale == nil }.count), expected, "sergeant stats --json")
        XCTAssertEqual(Set(stats.workers?.compactMap { $0.record?.pid } ?? []).count, 2, "two worker processes, one per host")

        let table = try sergeant(["stats"]).output
        XCTAssertNotNil(table.range(of: #"processed\s+6\s"#, options: .regularExpression), table)
        XCTAssertEqual(table.components(separatedBy: " live").count - 1, 2, table)

        var views: [(String, Numbers)] = []
        for (name, port) in [("host A", portA), ("host B", portB)] {
            var text = ""
            try waitUntil(timeout: 30, "\(name)'s metrics") {
                text = try get("http://127.0.0.1:\(port)/metrics")
                return Self.fromMetrics(text).liveWorkers != nil
            }
            views.append(("\(name) /metrics", Self.fromMetrics(text)))
        }
        try waitUntil(timeout: 30, "sergeant web") { web.output.contains("dashboard listening") }
        let base = "http://127.0.0.1:\(webPort)"
        views.append(("sergeant web /metrics", Self.fromMetrics(try get(base + "/metrics"))))
        let json = try get(base + "/api/snapshot")
        let webSnapshot = try JSONDecoder().decode(FleetSnapshot.self, from: Data(json.utf8))
        let webQueue = try XCTUnwrap(webSnapshot.queues.first { $0.name == "parity" }, json)
        views.append(("sergeant web /api/snapshot", Numbers(waiting: webQueue.waiting, inFlight: webQueue.inFlightTotal,
                                                            processed: webQueue.totals?.processed,
                                                            liveWorkers: webQueue.workers?.filter { $0.stale == nil }.count)))
        let html = try get(base + "/")
        let row = try XCTUnwrap(html.range(of: #"<tr data-queue="parity">.*?</tr>"#, options: .regularExpression).map { String(html[$0]) }, html)
        views.append(("sergeant web HTML", Numbers(
            waiting: Self.number(#"data-field="waiting">(\d+)<"#, in: row),
            inFlight: Self.number(#"data-field="in_flight">(\d+)<"#, in: row),
            processed: Self.number(#"data-field="processed">(\d+)<"#, in: row),
            liveWorkers: html.components(separatedBy: #"<td data-field="state">alive</td>"#).count - 1)))
        for (name, numbers) in views { XCTAssertEqual(numbers, expected, name) }
    }

    /// `sergeant stats --watch` under a pseudo-terminal: it clears and redraws the table every
    /// interval, a pushed task shows up in a later frame, and SIGINT ends it.
    func testWatchRedrawsOnATerminalAndStopsOnSIGINT() throws {
        let plugin = try ProjectPaths.fixturePackage("parity")
        // python's pty: the command's stdout is a terminal; SIGINT to python goes on to the command.
        let relay = """
            import os, pty, select, signal, sys
            pid, fd = pty.fork()
            if pid == 0:
                os.execv(sys.argv[1], sys.argv[1:])
            signal.signal(signal.SIGINT, lambda *_: os.kill(pid, signal.SIGINT))
            while True:
                try:
                    ready, _, _ = select.select([fd], [], [], 0.2)
                    data = os.read(fd, 65536) if ready else b"."
                except InterruptedError:
                    continue
                except OSError:
                    break
                if not data:
                    break
                if data != b".":
                    sys.stdout.buffer.write(data)
                    sys.stdout.flush()
            _, status = os.waitpid(pid, 0)
            print("\\n--status", os.WTERMSIG(status) if os.WIFSIGNALED(status) else 1000 + os.WEXITSTATUS(status))
            """
        let watch = try start(["/usr/bin/python3", "-c", relay, try ProjectPaths.executable("sergeant"), "stats", "--watch",
                               "--interval", "0.3", "--task-name", "parity"])
        let clear = "\u{1B}[H\u{1B}[2J"
        func frames() -> [String] { watch.output.components(separatedBy: clear).dropFirst().map { $0 } }
        try waitUntil(timeout: 30, "two frames") { frames().count >= 2 }
        let first = try XCTUnwrap(frames().first)
        XCTAssertTrue(first.contains("queue parity"), first)
        XCTAssertNotNil(first.range(of: #"waiting\s+0\s"#, options: .regularExpression), first)
        try push(plugin, (0..<4).map { #"{"action": "tally", "n": \#($0)}"# })
        try waitUntil(timeout: 30, "a frame with the pushed tasks") {
            frames().dropLast().contains { $0.range(of: #"waiting\s+4\s"#, options: .regularExpression) != nil }
        }
        let before = frames().count
        try waitUntil(timeout: 30, "more frames") { frames().count >= before + 2 }
        watch.signal(SIGINT)
        XCTAssertNotNil(watch.wait(timeout: 30), "the watch ended on SIGINT")
        XCTAssertTrue(watch.output.contains("--status 2"), "ended by SIGINT: \(watch.output.suffix(300))")
    }
}
