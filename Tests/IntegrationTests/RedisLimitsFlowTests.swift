import Foundation
import SergeantTestSupport
import XCTest

/// Redis limits that lose tasks, through the real processes: a worker (`sergeant-host` with
/// the `parity` fixture plugin) and the producer (`sergeant push`) warn at start of a Redis
/// that evicts keys or persists nothing, and a Redis out of memory makes a push fail loudly.
final class RedisLimitsFlowTests: XCTestCase {
    var server: RedisServer!

    override func tearDown() {
        server = nil
    }

    var environment: [String: String] { ["SERGEANT_REDIS": server.url] }

    func push(_ kwargs: String, count: Int = 1, environment extra: [String: String] = [:]) throws -> (code: Int32, output: String) {
        try ChildProcess.run([try ProjectPaths.executable("sergeant"), "push", "--worker-module=\(try ProjectPaths.fixturePackage("parity"))",
                              "--worker-class=Parity", "--kwargs", kwargs, "--count", String(count)],
                             environment: environment.merging(extra) { $1 })
    }

    /// Runs a supervisor until `until` holds in its output, stops it, returns its output.
    func runWorker(environment extra: [String: String] = [:], until: @escaping (String) -> Bool) throws -> String {
        let host = try ChildProcess([try ProjectPaths.executable("sergeant-host"), "--worker-module=\(try ProjectPaths.fixturePackage("parity"))",
                                     "--worker-class=Parity"], environment: environment.merging(extra) { $1 })
        do {
            try waitUntil(timeout: 60, "the expected output") { until(host.output) }
        } catch {
            XCTFail("\(error)\n\(host.output)")
            throw error
        }
        host.signal(SIGTERM)
        XCTAssertEqual(host.wait(timeout: 30), 0, host.output)
        return host.output
    }

    func occurrences(of text: String, in output: String) -> Int {
        output.components(separatedBy: text).count - 1
    }

    let eviction = "evicts keys when it runs out of memory (maxmemory-policy is allkeys-lru): an evicted queue is lost tasks."
        + " Set `CONFIG SET maxmemory-policy noeviction`"
    let persistence = "persists nothing (save is empty and appendonly is no): a restart of Redis loses every queued task."

    // MARK: Warnings at start

    func testAWorkerAndAProducerWarnOnceOfEvictionAndOfNoPersistence() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory-policy", "allkeys-lru", "--save", "", "--appendonly", "no"]))
        let pushed = try push(#"{"action": "return"}"#, count: 3)
        XCTAssertEqual(pushed.code, 0, pushed.output)
        XCTAssertEqual(occurrences(of: eviction, in: pushed.output), 1, pushed.output)
        XCTAssertEqual(occurrences(of: persistence, in: pushed.output), 1, pushed.output)
        let output = try runWorker { self.occurrences(of: "handler: on_success", in: $0) == 3 }
        XCTAssertEqual(occurrences(of: eviction, in: output), 1, output)
        XCTAssertEqual(occurrences(of: persistence, in: output), 1, output)
        XCTAssertTrue(output.contains("WARNING  redis \(server.node) evicts keys"), output)
        XCTAssertTrue(output.contains("node=\(server.node)"), output)
    }

    func testAWorkerOnNoevictionWithAnAppendOnlyFileWarnsOfNeither() throws {
        server = try RedisServer(options: .init(appendOnly: true, extraArguments: ["--maxmemory-policy", "noeviction"]))
        let pushed = try push(#"{"action": "return"}"#)
        XCTAssertEqual(pushed.code, 0, pushed.output)
        let output = try runWorker { $0.contains("handler: on_success") }
        for text in [pushed.output, output] {
            XCTAssertFalse(text.contains("evicts keys"), text)
            XCTAssertFalse(text.contains("persists nothing"), text)
            XCTAssertFalse(text.contains("WARNING"), text)
        }
    }

    // MARK: Out of memory

    func testSergeantPushRefusedForLackOfMemoryExitsNonZeroAndReportsOnlyWhatWasPushed() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]))
        let padding = String((0..<4_000).map { _ in "abcdefghijklmnopqrstuvwxyz0123456789".randomElement()! })
        var reported = 0
        var refusal: (code: Int32, output: String)?
        for _ in 0..<200 {
            let result = try push(#"{"action": "return", "pad": "\#(padding)"}"#, count: 20)
            guard result.code == 0 else {
                refusal = result
                break
            }
            XCTAssertTrue(result.output.contains("pushed 20 task(s) to parity"), result.output)
            reported += 20
        }
        let failed = try XCTUnwrap(refusal, "2 MB took more than 200 pushes of 20 tasks")
        XCTAssertEqual(failed.code, 1, failed.output)
        XCTAssertTrue(failed.output.contains("sergeant: redis is out of memory and refused the push of 20 task(s) to parity (OOM command not allowed"),
                      failed.output)
        XCTAssertTrue(failed.output.contains("nothing was pushed"), failed.output)
        XCTAssertFalse(failed.output.contains("pushed 20 task(s)"), failed.output)
        XCTAssertGreaterThan(reported, 0)
        XCTAssertEqual(try server.command("LLEN", "parity"), ":\(reported)", "every task reported as pushed is in Redis, and no other")
    }

    func testPushTaskFromAPluginSurfacesTheRefusal() throws {
        server = try RedisServer(options: .init(extraArguments: ["--maxmemory", "2mb", "--maxmemory-policy", "noeviction"]))
        let pushed = try push(#"{"action": "push_child"}"#)
        XCTAssertEqual(pushed.code, 0, pushed.output)
        // Fill Redis with other keys until it refuses writes.
        let padding = String(repeating: "x", count: 4_000)
        var filled = 0
        while try server.command("SET", "fill\(filled)", padding) == "+OK" { filled += 1 }
        XCTAssertTrue(try server.command("SET", "one-more", padding).hasPrefix("-OOM"))
        // At most once: the pop's in-flight record would be refused too.
        let output = try runWorker(environment: ["PARITY_AT_MOST_ONCE": "1"]) { $0.contains("handler: on_failure") }
        XCTAssertTrue(output.contains("task has failed: push_tasks failed: redis is out of memory and refused the push of 1 task(s) to parity"), output)
        XCTAssertTrue(output.contains("nothing was pushed"), output)
        XCTAssertEqual(try server.command("LLEN", "parity"), ":0", "the child was not pushed")
    }
}
