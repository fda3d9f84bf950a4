import Foundation
import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCompression
@testable import SergeantCore

/// `redis-sentinel://` against real processes on loopback ports: one master, one replica and
/// three sentinels (quorum 2). The master is SIGKILLed while a producer pushes and a worker
/// pops; both carry on with the promoted replica, and what was lost or duplicated in the
/// failover is counted and printed (replication is asynchronous: a task acknowledged by the
/// master just before it died may not have reached the replica).
final class RedisSentinelTests: XCTestCase {
    var master: RedisServer!
    var replica: RedisServer!
    var sentinels: [RedisServer] = []
    let logs = CapturedLogs()

    override func tearDown() {
        sentinels = []
        master = nil
        replica = nil
    }

    func testASentinelURLNamesTheMasterAndItsSentinels() {
        let node = RedisNode(url: "redis-sentinel://w:pw@s1:26380,s2,10.0.0.3:26381/mymaster/2")
        XCTAssertEqual(node?.sentinel, RedisSentinelConfig(masterName: "mymaster", sentinels: [
            .init(host: "s1", port: 26380), .init(host: "s2", port: 26379), .init(host: "10.0.0.3", port: 26381),
        ]))
        XCTAssertEqual(node?.username, "w")
        XCTAssertEqual(node?.password, "pw")
        XCTAssertEqual(node?.database, 2)
        XCTAssertEqual(node?.description, "sentinel:mymaster/2")
        XCTAssertNil(RedisNode(url: "redis-sentinel://s1:26379"), "no master name")
        XCTAssertNil(RedisNode(url: "redis-sentinel://s1:26379/"), "an empty master name")
    }

    func startCluster() throws {
        master = try RedisServer()
        replica = try RedisServer(options: .init(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)]))
        for _ in 0..<3 {
            var options = RedisServer.Options()
            options.sentinel = .init(masterPort: master.port)
            sentinels.append(try RedisServer(options: options))
        }
        try waitUntil(timeout: 60, "the sentinels to know the replica and each other") {
            try sentinels.allSatisfy { sentinel in
                try sentinel.command("SENTINEL", "replicas", "mymaster") == "*1"
                    && sentinel.command("SENTINEL", "sentinels", "mymaster") == "*2"
            }
        }
    }

    var sentinelNode: RedisNode {
        RedisNode(url: "redis-sentinel://" + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/mymaster")!
    }

    func broker() -> Broker {
        Broker(connector: RedisConnector(nodes: [sentinelNode], logger: logs.logger, reconnectTimeout: 60), encoder: TaskEncoder())
    }

    func numbers(_ popped: [PoppedTask]) throws -> [Int] {
        try popped.map { task in
            guard case .int(let n)? = try SergeantTask(messagePack: task.messagePack).kwargs["n"] else { throw SupportError("no n") }
            return Int(n)
        }
    }

    /// `durability: replicated`: every write waits (WAIT 1 1000) for the replica; the rate of
    /// one-by-one pushes and pops in both modes is printed. A push that no replica confirms is
    /// a `.notReplicated` error.
    func testReplicatedDurabilityWaitsForAReplica() throws {
        master = try RedisServer()
        replica = try RedisServer(options: .init(extraArguments: ["--replicaof", "127.0.0.1", String(master.port)]))
        try waitUntil(timeout: 30, "the replica to be in sync") {
            try replica.command("INFO", "replication").isEmpty == false
                && (try master.command("WAIT", "1", "100")) == ":1"
        }
        var rates: [RedisDurability: Double] = [:]
        for durability in [RedisDurability.acknowledged, .replicated, .acknowledged, .replicated] {
            var node = RedisNode(host: "127.0.0.1", port: master.port)
            node.durability = durability
            let broker = Broker(connector: RedisConnector(nodes: [node], logger: logs.logger), encoder: TaskEncoder())
            let start = MonotonicClock.now
            for n in 0..<300 { try broker.push(tasks: [SergeantTask(kwargs: ["n": .int(Int64(n))])], queue: "d") }
            var popped = 0
            while popped < 300 { popped += try broker.pop(queue: "d", count: 1, inFlightFor: "w1").tasks.count }
            _ = try broker.pop(queue: "d", count: 1, inFlightFor: "w1")  // acknowledges the last one
            rates[durability] = 300 / (MonotonicClock.now - start)
        }
        print(String(format: "durability: acknowledged %.0f tasks/s, replicated %.0f tasks/s (300 pushes one by one + 300 at-least-once pops of 1, last of two runs)",
                     rates[.acknowledged]!, rates[.replicated]!))
        XCTAssertEqual(try replica.command("LLEN", "d"), ":0")

        replica.kill()
        var node = RedisNode(host: "127.0.0.1", port: master.port)
        node.durability = .replicated
        let broker = Broker(connector: RedisConnector(nodes: [node], logger: logs.logger), encoder: TaskEncoder())
        do {
            try broker.push(tasks: [SergeantTask(kwargs: ["n": .int(1)])], queue: "d")
            XCTFail("a push no replica confirmed succeeded")
        } catch {
            XCTAssertEqual(error.reason, .notReplicated)
            XCTAssertTrue(error.message.contains("no replica confirmed it within 1000 ms"), error.message)
        }
    }

    func testProducersAndWorkersCarryOnWithThePromotedReplicaWhenTheMasterIsKilled() throws {
        try startCluster()
        let producer = broker()
        let worker = broker()
        var received: [Int] = []
        // Under load: one push per task, a pop of 10 after every 5 pushes.
        for n in 0..<100 {
            try producer.push(tasks: [SergeantTask(kwargs: ["n": .int(Int64(n))])], queue: "q")
            if n % 5 == 4 { received += try numbers(worker.pop(queue: "q", count: 10).tasks) }
        }
        let killedAt = MonotonicClock.now
        master.kill()
        // The next pushes wait (reconnecting with backoff, asking the sentinels) for the promotion.
        for n in 100..<200 {
            try producer.push(tasks: [SergeantTask(kwargs: ["n": .int(Int64(n))])], queue: "q")
            if n % 5 == 4 { received += try numbers(worker.pop(queue: "q", count: 10).tasks) }
        }
        let carriedOnAfter = MonotonicClock.now - killedAt
        while true {
            let batch = try numbers(worker.pop(queue: "q", count: 100).tasks)
            if batch.isEmpty { break }
            received += batch
        }
        XCTAssertEqual(try sentinels[0].command("SENTINEL", "get-master-addr-by-name", "mymaster"), "*2")
        let promoted = try replica.command("ROLE")
        XCTAssertEqual(promoted, "*3", "the replica is a master now (ROLE answers three fields)")
        let counts = Dictionary(grouping: received, by: { $0 }).mapValues(\.count)
        let lost = (0..<200).filter { counts[$0] == nil }
        let duplicated = counts.filter { $0.value > 1 }.keys.sorted()
        print("sentinel failover: carried on \(String(format: "%.1f", carriedOnAfter)) s after the SIGKILL; "
              + "lost \(lost.count) \(lost), duplicated \(duplicated.count) \(duplicated) of 200")
        XCTAssertEqual(lost.filter { $0 >= 100 }, [], "every task pushed after the failover arrives")
        XCTAssertEqual(duplicated.filter { $0 >= 100 }, [])
        XCTAssertTrue(logs.entries.contains { $0.message.contains("the sentinels name 127.0.0.1:\(replica.port) as the master") },
                      "\(logs.entries.map(\.message))")
        XCTAssertFalse(logs.entries.contains { $0.message.contains("restarted (run_id") },
                       "a failover (a new master, a new run_id) is no restart of one: \(logs.entries.map(\.message))")
    }
}
