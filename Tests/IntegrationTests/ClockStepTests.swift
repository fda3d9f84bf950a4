import Foundation
import SergeantTestSupport
import XCTest

/// Deadlines and timeouts run on the monotonic clock: a worker whose wall clock jumps a day
/// ahead mid-task (libfaketime, Debian package `faketime`) neither times the task out nor
/// ends itself over a hard timeout.
final class ClockStepTests: XCTestCase {
    static let library = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1"

    func testAWallClockStepDoesNotTimeATaskOut() throws {
        guard FileManager.default.fileExists(atPath: Self.library) else {
            throw XCTSkip("libfaketime is not installed (apt-get install faketime; make test installs it)")
        }
        let server = try RedisServer()
        let plugin = try ProjectPaths.fixturePackage("parity")
        let push = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                         "--worker-class=Parity", "--purge", "--kwargs", #"{"action": "watch_clock"}"#],
                                        environment: ["SERGEANT_REDIS": server.url])
        XCTAssertEqual(push.code, 0, push.output)
        let offset = FileManager.default.temporaryDirectory.appendingPathComponent("sergeant-faketime-\(getpid())").path
        XCTAssertTrue(FileManager.default.createFile(atPath: offset, contents: Data("+0\n".utf8)))
        defer { try? FileManager.default.removeItem(atPath: offset) }
        // A timeout of 5 s and a grace period of 5 s: a day of wall clock is far past both. The
        // worker process itself runs under libfaketime (its timeouts and watchdog are the
        // subject; libfaketime also hides argv from ArgumentParser executables such as
        // sergeant-host, whose clocks the supervisor tests cover).
        let worker = try ChildProcess([try ProjectPaths.executable("sergeant-worker"), "--worker-module=\(plugin)",
                                           "--worker-class=Parity"], environment: [
            "SERGEANT_REDIS": server.url, "PARITY_TIMEOUT": "5",
            "LD_PRELOAD": Self.library, "FAKETIME_TIMESTAMP_FILE": offset, "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        ])
        try waitUntil(timeout: 30, "the task to run") { worker.output.contains("work: watch_clock") }
        try Data("+1d\n".utf8).write(to: URL(fileURLWithPath: offset))
        try waitUntil(timeout: 30, "the worker to see the wall clock jump") { worker.output.contains("clock: the wall clock jumped") }
        // Long enough for a wall-clock watchdog (it looks every 50 ms) to have acted: the task
        // itself reports after the release, and a killed worker would never report.
        _ = try server.command("RPUSH", "parity-release", "go")
        try waitUntil(timeout: 30, "the task to end") { worker.output.contains("clock: timed_out=") }
        XCTAssertTrue(worker.output.contains("clock: timed_out=false"), worker.output)
        try waitUntil(timeout: 30, "its outcome") { worker.output.contains("handler: on_success") }
        XCTAssertFalse(worker.output.contains("timedout"), worker.output)
        XCTAssertFalse(worker.output.contains("past its timeout"), worker.output)
        worker.signal(SIGTERM)
        XCTAssertEqual(worker.wait(timeout: 30), 12, "ended by SIGTERM, not by a hard timeout (14): \(worker.output)")
    }
}
