import SergeantABI
import SergeantCore
import XCTest
@testable import SergeantHost
@testable import SergeantPluginLoader

/// The one outcome vocabulary (TaskOutcome) against sergeant_plugin.h, and the one exit code
/// type (WorkerExitCode) against what sergeant-host documents and does.
final class OutcomeVocabularyTests: XCTestCase {
    func testOutcomesAreTheStatusCodesOfTheHeader() {
        let header: [(TaskOutcome, sergeant_status)] = [
            (.success, SERGEANT_OK), (.failure, SERGEANT_FAILURE), (.retry, SERGEANT_RETRY),
            (.maxRetries, SERGEANT_MAX_RETRIES), (.requeue, SERGEANT_REQUEUE), (.stop, SERGEANT_STOP),
            (.respawn, SERGEANT_RESPAWN), (.timeout, SERGEANT_TIMEOUT),
        ]
        XCTAssertEqual(header.count, TaskOutcome.allCases.count)
        for (outcome, status) in header {
            XCTAssertEqual(outcome.status, status, "\(outcome)")
            XCTAssertEqual(TaskOutcome(status: status), outcome)
        }
        // Codes that are no task outcome, and unknown codes, read as failures.
        for status in [SERGEANT_CLASS_NOT_FOUND, SERGEANT_ABI_MISMATCH, SERGEANT_INVALID, 99, -1] {
            XCTAssertEqual(TaskOutcome(status: status), .failure)
        }
    }

    func testNamesHandlersAndLogLines() {
        XCTAssertEqual(TaskOutcome.allCases.map(\.name),
                       ["success", "failure", "retry", "max_retries", "requeue", "stop", "respawn", "timeout"])
        XCTAssertEqual(TaskOutcome.allCases.map(\.handlerName),
                       ["on_success", "on_failure", "on_retry", "on_max_retries", "on_requeue", "on_stop", nil, "on_timeout"])
        XCTAssertEqual(TaskOutcome.allCases.map { $0.logLine?.text },
                       ["task has finished successfully", "task has failed", "task has retried",
                        "task has reached max retries", "task has requeued", "worker has stopped", nil, "task has timedout"])
        XCTAssertEqual(TaskOutcome.allCases.map { $0.logLine?.level },
                       [.info, .error, .info, .error, .info, .info, nil, .error])
        let defaults = LoggingEvents()
        XCTAssertEqual(TaskOutcome.allCases.filter { defaults.logs($0) },
                       [.failure, .retry, .maxRetries, .requeue, .stop, .timeout])
        var quiet = LoggingEvents()
        quiet.onRetry = false
        quiet.onSuccess = true
        XCTAssertTrue(quiet.logs(.success))
        XCTAssertFalse(quiet.logs(.retry))
    }

    func testFailureTextNamesTheStatusWhenThePluginWroteNoMessage() {
        XCTAssertEqual(TaskOutcome.failureText("boom", status: SERGEANT_FAILURE), "boom")
        XCTAssertEqual(TaskOutcome.failureText("", status: SERGEANT_FAILURE), "status failure")
        XCTAssertEqual(TaskOutcome.failureText("", status: SERGEANT_INVALID), "status invalid")
        XCTAssertEqual(TaskOutcome.failureText("", status: SERGEANT_CLASS_NOT_FOUND), "status classNotFound")
        XCTAssertEqual(TaskOutcome.failureText("", status: SERGEANT_MAX_RETRIES), "status maxRetries")
        XCTAssertEqual(TaskOutcome.failureText("", status: 99), "status failure")
    }

    func testExitCodesAndWhatTheSupervisorDoes() {
        XCTAssertEqual(WorkerExitCode.allCases.map(\.rawValue), [0, 1, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 64])
        let respawn: [WorkerExitCode] = [.finished, .respawn, .terminated, .hardTimeout]
        let failure: [WorkerExitCode] = [.spawnFailed, .crashLoop, .brokerFailure, .usage]
        let loadFailures: [WorkerExitCode] = [.moduleNotFound, .moduleNotLoadable, .classNotFound, .abiMismatch, .invalidConfig]
        for code in respawn { XCTAssertEqual(code.supervisorResponse, .respawn, "\(code)") }
        for code in failure { XCTAssertEqual(code.supervisorResponse, .respawnAfterFailure, "\(code)") }
        for code in loadFailures { XCTAssertEqual(code.supervisorResponse, .stopAll(exitCode: code), "\(code)") }
        XCTAssertEqual(WorkerExitCode.stop.supervisorResponse, .stopAll(exitCode: .finished))
        XCTAssertEqual(loadFailures.map(\.rawValue), Array(3...7))
        XCTAssertEqual(PluginError(.invalidConfig, "bad").kind.rawValue, 7)
        XCTAssertEqual(WorkerExitCode.hostCodesHelp,
                       "0 stopped; 1 sergeant-worker missing or not startable; 3 module not found; 4 module not loadable;"
                       + " 5 class not found; 6 ABI mismatch; 7 invalid worker configuration; 64 bad arguments")
    }
}
