import Foundation
import XCTest
@testable import SergeantBroker

/// RESP read from bytes (as sergeant-chaos reads redis-server's append-only file): whole
/// commands, commands split across feeds, the offset of each, and what is not RESP.
final class RedisReplyReaderTests: XCTestCase {
    private func encode(_ words: [String]) -> [UInt8] {
        var text = "*\(words.count)\r\n"
        for word in words { text += "$\(word.utf8.count)\r\n\(word)\r\n" }
        return Array(text.utf8)
    }

    func testCommandsAndOffsets() throws {
        let first = encode(["SELECT", "0"])
        let second = encode(["RPUSH", "queue", "a\r\nb", ""])
        let reader = RedisReplyReader()
        try reader.feed(first + second)
        XCTAssertEqual(reader.offset, 0)
        XCTAssertEqual(try reader.next(), .array([.bytes(Array("SELECT".utf8)), .bytes(Array("0".utf8))]))
        XCTAssertEqual(reader.offset, first.count)
        XCTAssertEqual(try reader.next(), .array([.bytes(Array("RPUSH".utf8)), .bytes(Array("queue".utf8)),
                                                  .bytes(Array("a\r\nb".utf8)), .bytes([])]))
        XCTAssertEqual(reader.offset, first.count + second.count)
        XCTAssertNil(try reader.next())
    }

    func testACommandSplitAcrossFeedsAndLargeInput() throws {
        let command = encode(["LPUSH", "queue", String(repeating: "x", count: 5000)])
        var bytes: [UInt8] = []
        for _ in 0..<50 { bytes += command }
        let reader = RedisReplyReader()
        var read = 0
        var offsets: [Int] = []
        for start in stride(from: 0, to: bytes.count, by: 777) {
            try reader.feed(Array(bytes[start..<min(start + 777, bytes.count)]))
            while true {
                let offset = reader.offset
                guard let reply = try reader.next() else { break }
                guard case .array(let items) = reply else { return XCTFail("not a command: \(reply)") }
                XCTAssertEqual(items.count, 3)
                offsets.append(offset)
                read += 1
            }
        }
        XCTAssertEqual(read, 50)
        XCTAssertEqual(offsets, (0..<50).map { $0 * command.count })
        XCTAssertEqual(reader.offset, bytes.count)
    }

    func testWhatIsNotRESPThrows() throws {
        let reader = RedisReplyReader()
        try reader.feed(Array("#TS:1700000000\r\n".utf8))
        XCTAssertThrowsError(try reader.next())
    }

    /// Every reply type, nested, fed one byte at a time and whole: the parser's object
    /// functions build the same values in either case (a transaction's replies, EXEC's
    /// nested array with a nil, an empty array, a nil array, an error, large integers).
    func testEveryReplyTypeNestedWholeAndByteByByte() throws {
        let wire = "+OK\r\n+QUEUED\r\n+PONG\r\n-ERR wrong\r\n:-9223372036854775808\r\n$-1\r\n*-1\r\n*0\r\n"
            + "*5\r\n:1\r\n*2\r\n$3\r\nabc\r\n$-1\r\n*0\r\n+OK\r\n*1\r\n*1\r\n$0\r\n\r\n"
        let expected: [RedisReply] = [
            .status("OK"), .status("QUEUED"), .status("PONG"), .error("ERR wrong"), .integer(Int64.min), .null, .null,
            .array([]),
            .array([.integer(1), .array([.bytes(Array("abc".utf8)), .null]), .array([]), .status("OK"),
                    .array([.array([.bytes([])])])]),
        ]
        let whole = RedisReplyReader()
        try whole.feed(Array(wire.utf8))
        var read: [RedisReply] = []
        while let reply = try whole.next() { read.append(reply) }
        XCTAssertEqual(read, expected)

        let byByte = RedisReplyReader()
        read = []
        for byte in Array(wire.utf8) {
            try byByte.feed([byte])
            while let reply = try byByte.next() { read.append(reply) }
        }
        XCTAssertEqual(read, expected)
    }

    /// `+OK` and `+QUEUED` are taken without hiredis between replies; statuses that only start
    /// like them, and offsets, are the same either way.
    func testCommonStatusesAndTheirLookAlikes() throws {
        let reader = RedisReplyReader()
        try reader.feed(Array("+OK\r\n+QUEUED\r\n+OKAY\r\n+QUEUEDX\r\n+OK".utf8))
        XCTAssertEqual(try reader.next(), .status("OK"))
        XCTAssertEqual(reader.offset, 5)
        XCTAssertEqual(try reader.next(), .status("QUEUED"))
        XCTAssertEqual(reader.offset, 14)
        XCTAssertEqual(try reader.next(), .status("OKAY"))
        XCTAssertEqual(try reader.next(), .status("QUEUEDX"))
        XCTAssertEqual(reader.offset, 31)
        XCTAssertNil(try reader.next(), "+OK without its line end is not a reply yet")
        try reader.feed(Array("\r\n".utf8))
        XCTAssertEqual(try reader.next(), .status("OK"))
        XCTAssertEqual(reader.offset, 36)
    }

    /// An array count is the server's word before any element came: a stream claiming 2^31 - 1
    /// elements waits for them, with no 48 GB reserved ahead (the fuzzer's OOM; with the
    /// reservation this test's process dies).
    func testAHugeArrayCountReservesNothingItHasNotRead() throws {
        let reader = RedisReplyReader()
        try reader.feed(Array("*2147483647\r\n:1\r\n+OK\r\n".utf8))
        XCTAssertNil(try reader.next(), "two elements of 2^31 - 1 came")
        XCTAssertEqual(reader.offset, 0)
    }

    func testAReaderResetMidReplyStartsClean() throws {
        let reader = RedisReplyReader()
        try reader.feed(Array("*3\r\n$1\r\na\r\n".utf8))
        XCTAssertNil(try reader.next())
        reader.reset()
        try reader.feed(Array("*1\r\n$1\r\nb\r\n".utf8))
        XCTAssertEqual(try reader.next(), .array([.bytes(Array("b".utf8))]))
    }
}
