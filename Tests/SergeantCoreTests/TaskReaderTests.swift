import XCTest
@testable import SergeantCore

/// The fast readers (UTF-8 check, `Reader.skip`, `SergeantTask.validate`, the direct task
/// reader) against slower oracles: the standard library and the `Value` path.
final class TaskReaderTests: XCTestCase {
    // MARK: UTF-8

    func testUTF8CheckAgreesWithTheStandardLibraryOnEdgeCases() {
        let cases: [[UInt8]] = [
            [], Array("plain ascii, long enough for the eight-byte loop".utf8), Array("héllo ☃ 😀".utf8),
            [0x80], [0xc0, 0x80], [0xc1, 0xbf], [0xc2, 0x80], [0xdf, 0xbf], [0xe0, 0x80, 0x80], [0xe0, 0xa0, 0x80],
            [0xed, 0x9f, 0xbf], [0xed, 0xa0, 0x80], [0xef, 0xbf, 0xbf], [0xf0, 0x8f, 0xbf, 0xbf], [0xf0, 0x90, 0x80, 0x80],
            [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf5, 0x80, 0x80, 0x80], [0xff], [0xe2, 0x82],
            [0xf0, 0x9f, 0x98], Array("abcdefg".utf8) + [0xf0, 0x9f, 0x98] + Array("A".utf8), [0xe2, 0x28, 0xa1],
        ]
        for bytes in cases {
            XCTAssertEqual(bytes.withUnsafeBytes(UTF8Validation.isValid), String(validating: bytes, as: UTF8.self) != nil,
                           "\(bytes)")
        }
    }

    func testUTF8CheckAgreesWithTheStandardLibraryOnRandomBytes() {
        var generator = SystemRandomNumberGenerator()
        // Bytes drawn mostly from the interesting ranges, so that valid sequences happen too.
        let pool: [UInt8] = Array(0x20...0x7e) + Array(0x80...0xbf) + Array(0xc0...0xff)
        for _ in 0..<20_000 {
            let bytes = (0..<Int.random(in: 0...12, using: &generator)).map { _ in pool.randomElement(using: &generator)! }
            XCTAssertEqual(bytes.withUnsafeBytes(UTF8Validation.isValid), String(validating: bytes, as: UTF8.self) != nil,
                           "\(bytes)")
        }
    }

    // MARK: skip and read

    func testSkipAcceptsExactlyWhatReadAccepts() throws {
        let task = SergeantTask(kwargs: ["a": [1, 2, "three", nil, 1.5, .bytes([1, 2])], "b": ["nested": ["deep": true]],
                                         "big": .uint(UInt64.max), "neg": -70_000], traceID: "t", runCount: 2)
        let bytes = task.messagePack()
        var inputs = (0...bytes.count).map { Array(bytes.prefix($0)) }
        // Single-byte corruptions of the whole task.
        for index in bytes.indices {
            for replacement: UInt8 in [0x00, 0xc1, 0xff, 0xdf, 0xa5, 0xc7] {
                var corrupted = bytes
                corrupted[index] = replacement
                inputs.append(corrupted)
            }
        }
        for input in inputs {
            let read = try? MessagePack.decode(input)
            let skipped: Bool = input.withUnsafeBytes { buffer in
                var reader = MessagePack.Reader(buffer: buffer)
                do { try reader.skip() } catch { return false }
                return reader.offset == buffer.count
            }
            XCTAssertEqual(skipped, read != nil, "\(input)")
        }
    }

    // MARK: Tasks

    func testValidateAcceptsExactlyWhatTheDecoderAccepts() {
        let task = SergeantTask(kwargs: ["some_parameter": "one", "list": [1, "two"]], traceID: "trace", date: 12.5, runCount: 3)
        let bytes = task.messagePack()
        var inputs = (0...bytes.count).map { Array(bytes.prefix($0)) }
        for index in bytes.indices {
            for replacement: UInt8 in [0x00, 0x90, 0x80, 0xc0, 0xc3, 0xcb, 0xa3, 0xff] {
                var corrupted = bytes
                corrupted[index] = replacement
                inputs.append(corrupted)
            }
        }
        var refused = 0
        for input in inputs {
            let viaValue = (try? MessagePack.decode(input)).flatMap { try? SergeantTask(value: $0) }
            let direct = try? SergeantTask(messagePack: input)
            let valid = (try? SergeantTask.validate(messagePack: input)) != nil
            XCTAssertEqual(direct != nil, viaValue != nil, "\(input)")
            XCTAssertEqual(valid, direct != nil, "\(input)")
            if let direct, let viaValue {
                XCTAssertEqual(direct.kwargs, viaValue.kwargs)
                XCTAssertEqual(direct.traceID, viaValue.traceID)
                XCTAssertEqual(direct.runCount, viaValue.runCount)
                // A task without a date gets "now" from each reader.
                XCTAssertEqual(direct.date, viaValue.date, accuracy: 1)
            }
            if direct == nil { refused += 1 }
        }
        XCTAssertGreaterThan(refused, bytes.count, "the corruptions must include refused inputs")
        XCTAssertEqual(try SergeantTask(messagePack: bytes), task)
    }

    func testWrongFieldTypesAreNamedByBothReaders() {
        let cases: [(Value, String)] = [
            (["__task__": ["kwargs": [1, 2]]], "kwargs is an array, expected a map"),
            (["__task__": ["trace_id": 5]], "trace_id is an integer, expected a string"),
            (["__task__": ["date": "today"]], "date is a string, expected a number"),
            (["__task__": ["run_count": 1.5]], "run_count is a float, expected an integer"),
            (["__task__": ["run_count": .uint(UInt64.max)]], "run_count"),
            (["task": ["kwargs": [:]]], "__task__"),
            ([1, 2], "got an array"),
        ]
        for (value, message) in cases {
            XCTAssertThrowsError(try SergeantTask(value: value)) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
            XCTAssertThrowsError(try SergeantTask(messagePack: MessagePack.encode(value))) {
                XCTAssertTrue("\($0)".contains(message), "\($0)")
            }
            XCTAssertThrowsError(try SergeantTask.validate(messagePack: MessagePack.encode(value)))
        }
    }

    func testMissingFieldsTakePythonsDefaultsAndExtraKeysAreIgnored() throws {
        let before = unixTime()
        let task = try SergeantTask(messagePack: MessagePack.encode(["__task__": ["extra": [1, 2], "kwargs": ["a": 1]], "other": nil]))
        XCTAssertEqual(task.kwargs, ["a": 1])
        XCTAssertNil(task.traceID)
        XCTAssertEqual(task.runCount, 0)
        XCTAssertGreaterThanOrEqual(task.date, before)
    }
}
