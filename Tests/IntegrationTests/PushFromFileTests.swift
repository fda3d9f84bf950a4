import Foundation
import Logging
import SergeantBroker
import SergeantCore
import SergeantTestSupport
import XCTest

/// `sergeant push --from-file`: JSON Lines pushed in chunks; a bad line stops the run there (or
/// is skipped); an interrupted run says exactly which lines are pushed.
final class PushFromFileTests: XCTestCase {
    var server: RedisServer!
    var directory: URL!

    override func setUpWithError() throws {
        server = try RedisServer()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-lines-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
        server = nil
    }

    func file(_ lines: [String]) throws -> String {
        let path = directory.appendingPathComponent("tasks.jsonl").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func push(_ arguments: [String]) throws -> (code: Int32, output: String) {
        try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(try ProjectPaths.plugin("consumer"))",
                              "--worker-class=Worker"] + arguments, environment: ["SERGEANT_REDIS": server.url])
    }

    func testEveryLineBecomesATaskInChunks() throws {
        let path = try file((0..<2_500).map { #"{"n": \#($0)}"# } + [""])
        let before = try rpushCalls()
        let result = try push(["--from-file", path, "--chunk-size", "1000"])
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertTrue(result.output.contains("pushed 2500 task(s) to test_worker from lines 1-2501"), "the blank last line is read too: \(result.output)")
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":2500")
        XCTAssertEqual(try rpushCalls() - before, 3, "three round trips of up to 1,000 tasks")
    }

    func testABadLineStopsTheRunThereAndSaysHowToResume() throws {
        var lines = (0..<2_500).map { #"{"n": \#($0)}"# }
        lines[1_699] = #"{"n": oops}"#
        let path = try file(lines)
        let stopped = try push(["--from-file", path])
        XCTAssertEqual(stopped.code, 1, stopped.output)
        XCTAssertTrue(stopped.output.contains("line 1700 is not a kwargs object"), stopped.output)
        XCTAssertTrue(stopped.output.contains("resume with --start-line 1700"), stopped.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":1699", "the lines before it, nothing after it")
        // Fixed, the run resumes where it stopped.
        lines[1_699] = #"{"n": 1699}"#
        let resumed = try push(["--from-file", try file(lines), "--start-line", "1700"])
        XCTAssertEqual(resumed.code, 0, resumed.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":2500")
    }

    func testBadLinesCanBeSkipped() throws {
        let path = try file([#"{"n": 1}"#, "[1, 2]", "not json", #"{"n": 4}"#])
        let result = try push(["--from-file", path, "--skip-bad-lines"])
        XCTAssertEqual(result.code, 0, result.output)
        XCTAssertTrue(result.output.contains("skipped 2 bad line(s): 2, 3"), result.output)
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":2")
    }

    func testAnInterruptedRunSaysExactlyWhatIsPushed() throws {
        let path = try file((0..<400_000).map { #"{"n": \#($0)}"# })
        let child = try ChildProcess([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(try ProjectPaths.plugin("consumer"))",
                                      "--worker-class=Worker", "--from-file", path], environment: ["SERGEANT_REDIS": server.url])
        try waitUntil(timeout: 60, "the first progress line") { child.output.contains("task(s), ") || !child.isRunning }
        child.signal(SIGINT)
        let code = child.wait(timeout: 60)
        guard code == 130 else { throw XCTSkip("the push finished before the interrupt (\(String(describing: code))): \(child.output)") }
        let line = try XCTUnwrap(child.output.split(separator: "\n").first { $0.contains("interrupted: lines up to") }, child.output)
        let lastLine = try XCTUnwrap(Int(line.split(separator: " ")[5]), String(line))
        XCTAssertEqual(try server.command("LLEN", "test_worker"), ":\(lastLine)", child.output)
        XCTAssertTrue(line.contains("resume with --start-line \(lastLine + 1)"), String(line))
    }

    /// Calls of RPUSH so far (INFO commandstats).
    func rpushCalls() throws -> Int {
        let connection = RedisConnection(node: server.node, logger: Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) })
        guard case .bytes(let info) = try connection.command("INFO", "commandstats") else { return 0 }
        let line = String(decoding: info, as: UTF8.self).split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_rpush:") }
        return line.flatMap { $0.split(separator: "=").dropFirst().first?.split(separator: ",").first }.flatMap { Int($0) } ?? 0
    }
}
