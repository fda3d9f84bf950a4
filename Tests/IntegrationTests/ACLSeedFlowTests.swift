import Foundation
import SergeantTestSupport
import XCTest

/// The seed's producer -> supervisor -> worker flow under the ACL users README lists (read
/// from README.md itself, so that the documented rules are the tested ones): nothing is
/// refused (ACL LOG stays empty), and a command the ACL lacks is named with the rule to add.
final class ACLSeedFlowTests: XCTestCase {
    var server: RedisServer!
    let queue = "test_worker"

    override func tearDown() {
        server = nil
    }

    /// README's `user ROLE ...` line of each role, for queue `queue`, with password `pw-ROLE`.
    func readmeRules() throws -> [String: String] {
        let readme = try String(contentsOf: ProjectPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        var rules: [String: String] = [:]
        for line in readme.split(separator: "\n") where line.hasPrefix("user ") {
            let role = String(line.split(separator: " ")[1])
            rules[role] = line.replacingOccurrences(of: ">PASSWORD", with: ">pw-\(role)")
                .replacingOccurrences(of: "~NAME", with: "~\(queue)")
        }
        XCTAssertEqual(Set(rules.keys), ["worker", "producer", "dashboard"], "README's ACL section")
        return rules
    }

    func startServer(_ rules: [String: String]) throws {
        server = try RedisServer(options: .init(aclUsers: rules.keys.sorted().map { rules[$0]! }))
    }

    func url(_ role: String) -> String { "redis://\(role):pw-\(role)@127.0.0.1:\(server.port)/0" }

    func sergeant(as role: String, _ arguments: String...) throws -> (code: Int32, output: String) {
        try ChildProcess.run([try ProjectPaths.executable("sergeant")] + arguments,
                             environment: ["SERGEANT_REDIS": url(role), "SERGEANT_RECONNECT_TIMEOUT": "2"])
    }

    /// The ACL LOG: every refusal since the server started ("*0": none).
    func aclLog() throws -> String { try server.command("ACL", "LOG") }

    func testTheSeedFlowRunsUnderTheREADMEsACLUsers() throws {
        try startServer(try readmeRules())
        let plugin = try ProjectPaths.plugin("consumer")
        let module = "--worker-module=\(plugin)"
        let push = try sergeant(as: "producer", "push", module, "--worker-class=Worker", "--kwargs", #"{"some_parameter": "one"}"#, "--purge")
        XCTAssertEqual(push.code, 0, push.output)
        XCTAssertEqual(try sergeant(as: "dashboard", "count", module, "--worker-class=Worker").output.split(separator: "\n").last, "1")

        let supervisor = try ChildProcess([try ProjectPaths.executable("sergeant-host"), module, "--worker-class=Worker",
                                           "--concurrent-workers=1"], environment: ["SERGEANT_REDIS": url("worker")])
        try waitUntil(timeout: 30, "the worker to log the task") {
            supervisor.output.contains("task parameters are: {'some_parameter': 'one'}")
        }
        XCTAssertEqual(try sergeant(as: "dashboard", "count", module, "--worker-class=Worker").output.split(separator: "\n").last, "0")
        supervisor.signal(SIGTERM)
        XCTAssertEqual(supervisor.wait(timeout: 30), 0, supervisor.output)
        XCTAssertFalse(supervisor.output.contains("NOPERM"), supervisor.output)
        XCTAssertEqual(try aclLog(), "*0", "nothing the three roles sent was refused, the connection checks included")

        // The read-only role cannot push, and is told what it lacks.
        let refused = try sergeant(as: "dashboard", "push", module, "--worker-class=Worker", "--kwargs", #"{"n": 1}"#)
        XCTAssertEqual(refused.code, 1, refused.output)
        XCTAssertTrue(refused.output.contains("the ACL user 'dashboard' may not run RPUSH"), refused.output)
        XCTAssertTrue(refused.output.contains("+rpush"), refused.output)
    }

    func testACommandTheACLLacksIsNamedWithTheRuleToAdd() throws {
        var rules = try readmeRules()
        rules["producer"] = rules["producer"]!.replacingOccurrences(of: " +zcount", with: "")
        try startServer(rules)
        let plugin = try ProjectPaths.plugin("consumer")
        let count = try sergeant(as: "producer", "count", "--worker-module=\(plugin)", "--worker-class=Worker")
        XCTAssertEqual(count.code, 1, count.output)
        XCTAssertTrue(count.output.contains("may not run ZCOUNT"), count.output)
        XCTAssertTrue(count.output.contains("ACL SETUSER producer +zcount"), count.output)
        // A wrong password is a refused login, said at once.
        let result = try ChildProcess.run([try ProjectPaths.executable("sergeant"), "count", "--worker-module=\(plugin)",
                                           "--worker-class=Worker"],
                                          environment: ["SERGEANT_REDIS": "redis://producer:wrong@127.0.0.1:\(server.port)/0"])
        XCTAssertEqual(result.code, 1, result.output)
        XCTAssertTrue(result.output.contains("refused the login of user 'producer'"), result.output)
    }
}
