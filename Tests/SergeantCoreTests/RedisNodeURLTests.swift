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
}
