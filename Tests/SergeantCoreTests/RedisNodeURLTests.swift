import Foundation
import XCTest
@testable import SergeantCore

/// The URL forms of a Redis node: `redis://` with an ACL user or a password, `rediss://` with
/// its TLS settings in the query; and the JSON of a node's `username` and `tls`.
final class RedisNodeURLTests: XCTestCase {
    func testAnACLUserAndPasswordAreRead() {
        XCTAssertEqual(RedisNode(url: "redis://worker:s3cret@h:6390/1"),
                       RedisNode(host: "h", port: 6390, username: "worker", password: "s3cret", database: 1))
        XCTAssertEqual(RedisNode(url: "redis://:s3cret@h"), RedisNode(host: "h", password: "s3cret"))
        XCTAssertEqual(RedisNode(url: "redis://s3cret@h"), RedisNode(host: "h", password: "s3cret"))
        // Percent-encoded credentials: a password with '@' and ':'.
        XCTAssertEqual(RedisNode(url: "redis://us%3Aer:p%40ss%3Aword@h")?.password, "p@ss:word")
        XCTAssertEqual(RedisNode(url: "redis://us%3Aer:p%40ss%3Aword@h")?.username, "us:er")
        XCTAssertNil(RedisNode(url: "redis://u:p%4@h"), "a broken escape")
        XCTAssertFalse(RedisNode(url: "redis://worker:s3cret@h")!.description.contains("s3cret"))
        XCTAssertNil(RedisNode(url: "redis://h?ca_file=x"), "TLS settings on a plain URL")
    }

    func testRedissIsTLSVerifiedByDefault() {
        XCTAssertEqual(RedisNode(url: "rediss://h:6380/0"), RedisNode(host: "h", port: 6380, tls: RedisTLSConfig()))
        XCTAssertEqual(RedisNode(url: "rediss://h")?.tls?.verify, true)
        XCTAssertNil(RedisNode(url: "redis://h")?.tls)
        let node = RedisNode(url: "rediss://w:p@h:6380/2?ca_file=/etc/ca.pem&cert_file=/c.pem&key_file=/k.pem&server_name=redis.internal&verify=no")
        XCTAssertEqual(node, RedisNode(host: "h", port: 6380, username: "w", password: "p", database: 2,
                                       tls: RedisTLSConfig(caFile: "/etc/ca.pem", certificateFile: "/c.pem", keyFile: "/k.pem",
                                                           serverName: "redis.internal", verify: false)))
        XCTAssertNil(RedisNode(url: "rediss://h?verify=maybe"))
        XCTAssertNil(RedisNode(url: "rediss://h?cafile=/x"), "an unknown parameter")
    }

    func testUsernameAndTLSInJSON() throws {
        let json = #"{"host": "h", "username": "worker", "password": "p", "tls": {"ca_file": "/ca.pem", "server_name": "n"}}"#
        let node = try JSONDecoder().decode(RedisNode.self, from: Data(json.utf8))
        XCTAssertEqual(node, RedisNode(host: "h", username: "worker", password: "p",
                                       tls: RedisTLSConfig(caFile: "/ca.pem", serverName: "n")))
        XCTAssertEqual(node.tls?.verify, true)
        let roundTripped = try JSONDecoder().decode(RedisNode.self, from: JSONEncoder().encode(node))
        XCTAssertEqual(roundTripped, node)
        let plain = try JSONDecoder().decode(RedisNode.self, from: Data(#"{"port": 7000}"#.utf8))
        XCTAssertNil(plain.tls)
        XCTAssertNil(plain.username)
    }

    func testClusterURLListsTheSeedsAndTheShards() throws {
        let node = try XCTUnwrap(RedisNode(url: "redis-cluster://:secret@10.0.0.1:7000,10.0.0.2,h3:7002?shards=3&durability=replicated"))
        XCTAssertEqual(node.cluster?.seeds.map(\.description), ["10.0.0.1:7000", "10.0.0.2:6379", "h3:7002"])
        XCTAssertEqual(node.cluster?.shards, 3)
        XCTAssertEqual(node.password, "secret")
        XCTAssertEqual(node.durability, .replicated)
        XCTAssertEqual(node.database, 0)
        XCTAssertEqual(node.description, "cluster:10.0.0.1:7000,10.0.0.2:6379,h3:7002")
        XCTAssertEqual(RedisNode(url: "redis-cluster://h:1/")?.cluster?.shards, 1)
        for bad in ["redis-cluster://", "redis-cluster://h:1/2", "redis-cluster://h:1?shards=0", "redis-cluster://h:1?nodes=2",
                    "redis-cluster://h:1?durability=sometimes"] {
            XCTAssertNil(RedisNode(url: bad), bad)
        }
        let json = try JSONDecoder().decode(RedisNode.self, from: Data(#"{"cluster": {"seeds": [{"host": "h", "port": 7000}]}}"#.utf8))
        XCTAssertEqual(json.cluster, RedisClusterConfig(seeds: [.init(host: "h", port: 7000)], shards: 1))
    }
}
