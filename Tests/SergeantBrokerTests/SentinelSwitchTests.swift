import Foundation
import Logging
import SergeantTestSupport
import Synchronization
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// What a `redis-sentinel://` connection does beyond asking the sentinels at each
/// connection, against real master, replica and three sentinels on loopback ports: it moves
/// at the sentinels' `+switch-master` even when its master went silent without closing
/// anything, it refuses a node that answers `ROLE` as a replica, and it logs in to
/// password-protected sentinels with their own password.
final class SentinelSwitchTests: XCTestCase {
    var group: SentinelGroup!
    let logs = CapturedLogs()

    override func tearDown() {
        group = nil
    }

    func broker(_ url: String, reconnectTimeout: Double = 60) throws -> Broker {
        let node = try XCTUnwrap(RedisNode(url: url), url)
        return Broker(connector: RedisConnector(nodes: [node], logger: logs.logger, reconnectTimeout: reconnectTimeout),
                      encoder: TaskEncoder())
    }

    func testTheSentinelURLTakesTheSentinelsLoginAndTheDurability() throws {
        let node = try XCTUnwrap(RedisNode(url: "redis-sentinel://:mpw@s1,s2/mymaster/1?sentinel_username=sent&sentinel_password=s%40pw&durability=replicated"))
        XCTAssertEqual(node.sentinel, RedisSentinelConfig(masterName: "mymaster", sentinels: [.init(host: "s1"), .init(host: "s2")],
                                                          username: "sent", password: "s@pw"))
        XCTAssertEqual(node.password, "mpw", "the userinfo is the master's login")
        XCTAssertEqual(node.database, 1)
        XCTAssertEqual(node.durability, .replicated)
        XCTAssertNil(RedisNode(url: "redis-sentinel://s1/mymaster?durability=sometimes"))
        XCTAssertNil(RedisNode(url: "redis-sentinel://s1/mymaster?sentinel_pass=x"), "an unknown parameter")
        let json = #"{"sentinel": {"master_name": "m", "sentinels": [{"host": "s1", "port": 26380}], "password": "spw"}}"#
        let decoded = try JSONDecoder().decode(RedisNode.self, from: Data(json.utf8))
        XCTAssertEqual(decoded.sentinel?.password, "spw")
        XCTAssertNil(decoded.sentinel?.username)
        XCTAssertNil(decoded.password, "the sentinels' password is not the master's")
    }

    /// Sentinels with `requirepass` and a master with a password of its own: the URL's
    /// `sentinel_password` reaches them; without it, or with a wrong one, the connection
    /// fails at once with the reason (retrying would not help).
    func testPasswordProtectedSentinels() throws {
        group = try SentinelGroup(masterPassword: "master-pw", sentinelPassword: "sentinel-pw")
        let producer = try broker(group.url())
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        XCTAssertEqual(try group.master().command("LLEN", "q"), ":1")

        let started = MonotonicClock.now
        XCTAssertThrowsError(try broker(group.url(sentinelLogin: false)).count(queue: "q", includeDelayed: false)) { error in
            let error = error as! BrokerError
            XCTAssertEqual(error.reason, .authenticationRequired, error.message)
            XCTAssertTrue(error.message.contains("sentinel_password"), error.message)
        }
        let wrong = group.url(sentinelLogin: false) + "?sentinel_password=nope"
        XCTAssertThrowsError(try broker(wrong).count(queue: "q", includeDelayed: false)) { error in
            let error = error as! BrokerError
            XCTAssertEqual(error.reason, .authenticationFailed, error.message)
            XCTAssertTrue(error.message.contains("the sentinels' own, not the master's"), error.message)
        }
        XCTAssertLessThan(MonotonicClock.now - started, 20, "refused logins are not retried for the reconnect timeout")
    }

    /// The master stops answering without closing its connections (SIGSTOP): a worker blocked
    /// in BLMOVE there and an idle producer would wait for a TCP timeout. The sentinels fail
    /// over, announce `+switch-master`, and the process's one subscriber closes both
    /// connections: the wait moves to the new master and receives a task pushed there long
    /// before its own 40 s timeout, and the producer's next push goes there at once.
    func testSwitchMasterMovesABlockedWaitAndAnIdleProducer() throws {
        group = try SentinelGroup(sentinelPassword: "sentinel-pw")
        let producer = try broker(group.url())
        let worker = try broker(group.url())
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 0])], queue: "q")
        XCTAssertEqual(try worker.pop(queue: "q", count: 1, inFlightFor: "w").tasks.count, 1)
        _ = try worker.pop(queue: "q", count: 1, inFlightFor: "w")  // acknowledges it; the in-flight list is empty

        let waited = Synchronization.Mutex<(count: Int, error: String?, at: Double)?>(nil)
        let handOver = HandOver(worker)
        let waiter = Thread {
            let outcome: (Int, String?, Double)
            do {
                let tasks = try handOver.value.wait(queue: "q", timeout: 40, inFlightFor: "w").tasks
                outcome = (tasks.count, nil, MonotonicClock.now)
            } catch {
                outcome = (0, "\(error)", MonotonicClock.now)
            }
            waited.withLock { $0 = outcome }
        }
        waiter.start()
        let old = try group.master()
        let watcher = SentinelWatcher.shared(for: try XCTUnwrap(RedisNode(url: group.url())?.sentinel), logger: logs.logger)
        try waitUntil(timeout: 10, "the wait to block in BLMOVE on the master") {
            try old.reply(["CLIENT", "LIST"]).contains { $0.contains("cmd=blmove") }
        }
        XCTAssertTrue(watcher.isRunning, "one +switch-master subscriber runs for the process")
        old.signal(SIGSTOP)
        defer { old.kill() }
        let stoppedAt = MonotonicClock.now
        let promoted = try group.waitForFailover(from: old.port)
        try waitUntil(timeout: 10, "the +switch-master announcement") { watcher.switches >= 1 }
        let switchedAt = MonotonicClock.now

        let pushStarted = MonotonicClock.now
        try producer.push(tasks: [SergeantTask(kwargs: ["n": 1])], queue: "q")
        let pushTook = MonotonicClock.now - pushStarted
        try waitUntil(timeout: 15, "the blocked wait to receive the task on the new master") { waited.withLock { $0 } != nil }
        let outcome = try XCTUnwrap(waited.withLock { $0 })
        XCTAssertNil(outcome.error)
        XCTAssertEqual(outcome.count, 1, "the wait moved to the new master and received the task")
        print(String(format: "+switch-master: failover seen %.1f s after SIGSTOP; the idle producer's push took %.2f s;"
                     + " the blocked wait received the task %.2f s after the announcement", switchedAt - stoppedAt, pushTook,
                     outcome.at - switchedAt))
        XCTAssertLessThan(pushTook, 10, "the idle producer's connection was closed at the announcement, not left to time out")
        XCTAssertEqual(try group.servers[promoted]?.command("LLEN", "q"), ":0", "the task was taken on the new master")
        XCTAssertTrue(logs.entries.contains { $0.message.contains("closed") && $0.message.contains("connection(s) to the old master") },
                      "\(logs.entries.map(\.message))")
    }

    /// A sentinel may name the old master for a moment after a failover; a connection that
    /// reaches a node whose `ROLE` is a replica's does not use it (reads would succeed there
    /// and answer from a replica) but asks the sentinels again with the backoff.
    func testANodeThatAnswersAsAReplicaIsNotUsed() throws {
        group = try SentinelGroup()
        let master = try group.master()
        let replica = try XCTUnwrap(try group.replicas().first)
        // Swap the roles behind the sentinels' back: for now they still name the old master.
        XCTAssertEqual(try replica.command("REPLICAOF", "NO", "ONE"), "+OK")
        XCTAssertEqual(try master.command("REPLICAOF", "127.0.0.1", String(replica.port)), "+OK")
        XCTAssertEqual(try group.masterPort(), master.port)
        XCTAssertThrowsError(try broker(group.url(), reconnectTimeout: 1.5).count(queue: "q", includeDelayed: false)) { error in
            XCTAssertTrue("\(error)".contains("not the master (ROLE)"), "\(error)")
        }
    }
}

/// A value handed to one other thread, which alone uses it from then on.
final class HandOver<Value>: @unchecked Sendable {
    let value: Value

    init(_ value: Value) { self.value = value }
}
