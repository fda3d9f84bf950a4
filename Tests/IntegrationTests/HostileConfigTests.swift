import Foundation
import SergeantTestSupport
import XCTest

/// A plugin whose generateConfig returns absurd values is refused at start, by sergeant-host
/// (exit code 7) and by the `sergeant` command line alike, with a message that names the
/// field and the accepted range. The plugin is Tests/Fixtures/config_worker.c, whose
/// configuration is the environment variable CONFIG_WORKER_JSON.
final class HostileConfigTests: XCTestCase {
    /// Each hostile configuration and the field the refusal must name.
    static let hostile: [(json: String, field: String)] = [
        (#"{"name": "q", "timeouts": {"timeout": -5}}"#, "timeouts.timeout"),
        (#"{"name": "q", "timeouts": {"grace_period": -1}}"#, "timeouts.grace_period"),
        (#"{"name": "q", "tasks_per_transaction": 0}"#, "tasks_per_transaction"),
        (#"{"name": "q", "max_task_size": 10737418240}"#, "max_task_size"),
        ("{\"name\": \"\(String(repeating: "q", count: 100 * 1024))\"}", "name"),
        (#"{"name": ""}"#, "name"),
        (#"{"name": "q", "number_of_threads": 1000000}"#, "number_of_threads"),
        (#"{"name": "q", "starvation": {"time_with_no_tasks": 0}}"#, "starvation.time_with_no_tasks"),
        (#"{"name": "q", "connector": {"type": "redis", "params": {"nodes": [{"port": 70000}]}}}"#, "connector.params.nodes[0].port"),
    ]

    var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("hostile-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testSergeantHostRefusesEachWithTheFieldAndExitCode7() throws {
        let plugin = try ProjectPaths.fixture("libconfig_worker.so")
        for (json, field) in Self.hostile {
            let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(plugin)",
                                         "--worker-class=ConfigWorker"],
                                        environment: ["CONFIG_WORKER_JSON": json, "TMPDIR": directory.path])
            let code = host.wait(timeout: 60)
            if code == nil { host.signal(SIGKILL) }
            XCTAssertEqual(code, 7, "\(field): \(host.output.prefix(2000))")
            XCTAssertTrue(host.output.contains("\(field) is "), "\(field): \(host.output.prefix(2000))")
            XCTAssertTrue(host.output.contains("accepted: "), host.output.prefix(2000).description)
            XCTAssertLessThan(host.output.utf8.count, 20_000, "the 100 KB name is not repeated back whole")
        }
    }

    func testTheCommandLineRefusesEachWithTheField() throws {
        let plugin = try ProjectPaths.fixture("libconfig_worker.so")
        for (json, field) in Self.hostile {
            let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                               "--worker-class=ConfigWorker", "--kwargs", "{}"],
                                              environment: ["CONFIG_WORKER_JSON": json, "TMPDIR": directory.path])
            XCTAssertEqual(result.code, 7, "\(field): \(result.output.prefix(2000))")
            XCTAssertTrue(result.output.contains("\(field) is "), "\(field): \(result.output.prefix(2000))")
        }
    }

    /// The same fixture with a sane configuration is accepted (the refusals above are the
    /// values', not the fixture's).
    func testASaneConfigurationIsAccepted() throws {
        let plugin = try ProjectPaths.fixture("libconfig_worker.so")
        let json = #"{"name": "q", "tasks_per_transaction": 100000, "max_task_size": 536870912, "timeouts": {"timeout": 30, "grace_period": 0},"#
            + #" "connector": {"type": "local", "params": {"file_path": "\#(directory.appendingPathComponent("q.sqlite3").path)"}}}"#
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(plugin)",
                                           "--worker-class=ConfigWorker", "--kwargs", "{}"],
                                          environment: ["CONFIG_WORKER_JSON": json, "TMPDIR": directory.path])
        XCTAssertEqual(result.code, 0, result.output)
    }
}
