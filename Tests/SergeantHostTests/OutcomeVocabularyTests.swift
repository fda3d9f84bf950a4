import SergeantABI
import SergeantCore
import XCTest
@testable import SergeantHost

/// The one outcome vocabulary (TaskOutcome) against sergeant_plugin.h.
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
}
