import SergeantHost
import XCTest

/// The supervisor's pure parts: the respawn backoff and the launch contract of SIGHUP's check
/// and readiness signal.
final class SupervisionContractTests: XCTestCase {
    func testBackoffDoublesUpToItsCapAndStartsAtZeroFailures() {
        let backoff = RespawnBackoff(initialDelay: 0.1, maxDelay: 2, resetAfter: 10)
        XCTAssertEqual(backoff.delay(afterFailures: 0), 0)
        XCTAssertEqual((1...7).map { backoff.delay(afterFailures: $0) }, [0.1, 0.2, 0.4, 0.8, 1.6, 2, 2])
        XCTAssertEqual(backoff.delay(afterFailures: 10_000), 2, "no overflow however long the storm")
        XCTAssertEqual(RespawnBackoff(initialDelay: 0, maxDelay: 0).delay(afterFailures: 5), 0)
    }

    func testCheckAndReadySignalRoundTripThroughTheCommandLineAndEnvironment() throws {
        var launch = WorkerLaunch(modulePath: "/opt/app/libconsumer.so", className: "Worker")
        launch.checkOnly = true
        launch.readySignal = 38
        let argv = launch.arguments(executable: "/usr/bin/sergeant-worker")
        XCTAssertEqual(argv, ["/usr/bin/sergeant-worker", "--check", "--worker-module", "/opt/app/libconsumer.so", "--worker-class", "Worker"])
        let environment = launch.environment(inheriting: ["PATH=/bin", "SERGEANT_READY_SIGNAL=1"])
        XCTAssertEqual(environment, ["PATH=/bin", "SERGEANT_READY_SIGNAL=38"])
        let back = try WorkerLaunch(arguments: argv) { name in
            environment.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        XCTAssertEqual(back, launch)
        XCTAssertThrowsError(try WorkerLaunch(arguments: argv) { $0 == "SERGEANT_READY_SIGNAL" ? "HUP" : nil }) { error in
            XCTAssertTrue("\(error)".contains("SERGEANT_READY_SIGNAL=HUP is not a signal number"), "\(error)")
        }
        XCTAssertGreaterThan(WorkerReadiness.signal, 32, "a real-time signal, queued per sender")
        var quiet = WorkerLaunch(modulePath: "m.so", className: "W")
        quiet.crashBacktraces = false
        XCTAssertEqual(quiet.environment(inheriting: ["PATH=/bin"]), ["PATH=/bin", "SWIFT_BACKTRACE=enable=no"])
        XCTAssertEqual(quiet.environment(inheriting: ["SWIFT_BACKTRACE=enable=yes"]), ["SWIFT_BACKTRACE=enable=yes"],
                       "a SWIFT_BACKTRACE of the operator's wins")
        XCTAssertEqual(WorkerLaunch(modulePath: "m.so", className: "W").environment(inheriting: []), [])
    }
}
