import Logging
import SergeantTestSupport
import XCTest
import SergeantABI
@testable import SergeantCore
@testable import SergeantHost
@testable import SergeantPluginLoader

/// The SDK leaves NULL the table entries of handlers a worker class overrides in neither
/// form (it reads the class's vtable), so the host skips those calls: no C crossing and no
/// task decoding per task for a worker that only overrides `work`.
final class HandlerOverridesTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    /// The handler entries of `className`'s table, by name, true when provided.
    func provided(_ path: String, _ className: String) throws -> [String: Bool] {
        let worker = try PluginModule(path: path).makeWorker(className: className, host: ConfigurationHost(logger: logger))
        let table = worker.table
        return [
            "initialize": table.initialize != nil, "finalize": table.finalize != nil, "pre_work": table.pre_work != nil,
            "post_work": table.post_work != nil, "on_success": table.on_success != nil, "on_failure": table.on_failure != nil,
            "on_timeout": table.on_timeout != nil, "on_retry": table.on_retry != nil,
            "on_max_retries": table.on_max_retries != nil, "on_requeue": table.on_requeue != nil,
            "on_starvation": table.on_starvation != nil, "on_stop": table.on_stop != nil,
            "work": table.work != nil, "work_async": table.work_async != nil,
        ]
    }

    func only(_ names: Set<String>) -> [String: Bool] {
        let handlers = ["initialize", "finalize", "pre_work", "post_work", "on_success", "on_failure", "on_timeout",
                        "on_retry", "on_max_retries", "on_requeue", "on_starvation", "on_stop"]
        var expected = Dictionary(uniqueKeysWithValues: handlers.map { ($0, names.contains($0)) })
        expected["work"] = true
        expected["work_async"] = true
        return expected
    }

    func testAWorkerThatOverridesOnlyWorkProvidesNoHandlerEntries() throws {
        let async = try ProjectPaths.fixturePackage("async")
        XCTAssertEqual(try provided(async, "SleepWorker"), only([]))
        // Async overrides count: each of these overrides one handler's async form only.
        XCTAssertEqual(try provided(async, "TimeoutWorker"), only(["on_timeout"]))
        XCTAssertEqual(try provided(async, "StopWorker"), only(["on_stop"]))
    }

    func testAnOverrideThatCallsSuperAndAnInheritedOverrideAreCalled() throws {
        let async = try ProjectPaths.fixturePackage("async")
        XCTAssertEqual(try provided(async, "SuperCallingWorker"), only(["pre_work", "on_success"]))
        XCTAssertEqual(try provided(async, "InheritingWorker"), only(["pre_work", "on_success"]))
    }

    func testAWorkerThatOverridesEveryHandlerProvidesThemAll() throws {
        // The parity worker overrides all twelve (sync forms): every descriptor the SDK looks up resolves.
        let all = try provided(try ProjectPaths.fixturePackage("parity"), "Parity")
        for (name, isProvided) in all.sorted(by: { $0.key < $1.key }) where name != "work_async" {
            XCTAssertTrue(isProvided, "\(name) is overridden by Parity")
        }
    }

    func testASkippedHandlerSucceedsWithoutACall() throws {
        let worker = try PluginModule(path: try ProjectPaths.fixturePackage("async"))
            .makeWorker(className: "SleepWorker", host: ConfigurationHost(logger: logger))
        let task = SergeantTask(kwargs: ["ms": 0]).messagePack()
        XCTAssertEqual(worker.preWork(task).outcome, .success)
        XCTAssertEqual(worker.postWork(task, success: false, exception: "boom").outcome, .success)
        XCTAssertEqual(worker.handle(.failure, task, failure: "boom").outcome, .success)
        XCTAssertEqual(worker.handle(.stop, task).outcome, .success)
    }
}
