import Logging
import SergeantTestSupport
import XCTest
@testable import SergeantBroker
@testable import SergeantCore

/// Client-side distribution over several Redis nodes, as Python sergeant places things.
final class MultiNodeTests: XCTestCase {
    let logger = Logger(label: "test") { SergeantLogHandler(label: $0, level: .critical) }

    func testPushesRotateKeysFollowCRC32AndADeadNodeIsSkipped() throws {
        let first = try RedisServer()
        let second = try RedisServer()
        let connector = RedisConnector(nodes: [first.node, second.node], logger: logger)
        for number in 0..<10 {
            try connector.push(queue: "q", items: [[UInt8(number)]], priority: .normal, consumableFrom: nil)
        }
        XCTAssertEqual(try first.command("LLEN", "q"), ":5", "round robin")
        XCTAssertEqual(try second.command("LLEN", "q"), ":5", "round robin")
        XCTAssertEqual(try connector.length(queue: "q", includeDelayed: false), 10)
        XCTAssertEqual(Set(try connector.pop(queue: "q", count: 10)), Set((0..<10).map { [UInt8($0)] }), "a pop visits every node")

        for key in ["alpha", "beta", "gamma", "delta", "__lock__"] {
            XCTAssertTrue(try connector.keySet(key, value: [1]))
            let expected = crc32(Array(key.utf8)) % 2 == 0 ? first : second
            XCTAssertEqual(try expected.command("EXISTS", key), ":1", "\(key) lives on node crc32 % 2")
        }
        XCTAssertTrue(try connector.lockTryAcquire("job", ttl: 30))
        let lockNode = crc32(Array("job".utf8)) % 2 == 0 ? first : second
        XCTAssertEqual(try lockNode.command("EXISTS", "__lock__.job"), ":1", "locks are placed by their name")

        second.stop()
        for number in 0..<6 {
            try connector.push(queue: "q", items: [[UInt8(number)]], priority: .normal, consumableFrom: nil)
        }
        XCTAssertEqual(try first.command("LLEN", "q"), ":6", "pushes go to the live node")
        XCTAssertEqual(try connector.length(queue: "q", includeDelayed: false), 6)
        XCTAssertEqual(try connector.pop(queue: "q", count: 10).count, 6)
    }

    /// CRC-32 (IEEE), written here independently of the zlib the connector uses.
    func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xffff_ffff
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
