import XCTest
@testable import SergeantCompression
@testable import SergeantCore

final class MessagePackTests: XCTestCase {
    func testRoundTripOfEveryKind() throws {
        let value: Value = [
            "nil": nil, "true": true, "false": false,
            "ints": [0, 127, 128, 255, 256, 65535, 65536, 4_294_967_295, 4_294_967_296, -1, -32, -33, -128, -129, -32768, -32769, -2_147_483_649],
            "max": .uint(UInt64.max), "min": .int(Int64.min),
            "float": 1.5, "string": "héllo ☃ 😀", "long": .string(String(repeating: "x", count: 70_000)),
            "bytes": .bytes([0, 1, 2, 255]), "nested": ["a": [1, ["b": nil]]], "list": .array((0..<20).map { .int(Int64($0)) }),
        ]
        XCTAssertEqual(try MessagePack.decode(MessagePack.encode(value)), value)
    }

    func testSmallestIntegerFormsAsPythonWritesThem() {
        XCTAssertEqual(MessagePack.encode(127), [0x7f])
        XCTAssertEqual(MessagePack.encode(128), [0xcc, 0x80])
        XCTAssertEqual(MessagePack.encode(-1), [0xff])
        XCTAssertEqual(MessagePack.encode(-33), [0xd0, 0xdf])
        XCTAssertEqual(MessagePack.encode(65535), [0xcd, 0xff, 0xff])
        XCTAssertEqual(MessagePack.encode(.string(String(repeating: "a", count: 40))).prefix(2), [0xd9, 40])
    }

    func testMalformedInputThrowsInsteadOfCrashing() {
        let cases: [[UInt8]] = [
            [], [0xc1], [0xd9], [0xd9, 0x05, 0x61], [0x92, 0x01], [0xdd, 0xff, 0xff, 0xff, 0xff],
            [0xdf, 0xff, 0xff, 0xff, 0xff], [0xa2, 0xff, 0xfe], [0x01, 0x02], [0xc7, 0x01, 0x01, 0x00],
            Array(repeating: 0x91, count: 100_000),
        ]
        for bytes in cases {
            XCTAssertThrowsError(try MessagePack.decode(bytes), "\(bytes.prefix(8)) should be refused")
        }
    }

    func testEveryTruncationOfATaskIsRefused() throws {
        let task = SergeantTask(kwargs: ["a": [1, 2, "three"], "b": .bytes([1, 2])], traceID: "t", runCount: 2)
        let bytes = task.messagePack()
        XCTAssertEqual(try SergeantTask(messagePack: bytes), task)
        for length in 0..<bytes.count {
            XCTAssertThrowsError(try SergeantTask(messagePack: Array(bytes.prefix(length))))
        }
    }

    func testTaskFieldsOfTheWrongTypeAreNamed() {
        let wrong: Value = ["__task__": ["kwargs": [1, 2], "run_count": 0]]
        XCTAssertThrowsError(try SergeantTask(value: wrong)) { XCTAssertTrue("\($0)".contains("kwargs is an array")) }
        let notTask: Value = ["some": "map"]
        XCTAssertThrowsError(try SergeantTask(value: notTask)) { XCTAssertTrue("\($0)".contains("__task__")) }
    }

    func testPythonStyleRendering() {
        let kwargs: Value = ["some_parameter": "one", "n": 1, "f": 2.0, "none": nil, "ok": true]
        XCTAssertEqual(kwargs.description, "{'some_parameter': 'one', 'n': 1, 'f': 2.0, 'none': None, 'ok': True}")
    }
}

final class SerializerTests: XCTestCase {
    func testJSONSerializerRoundTripsATaskAndStoresReadableText() throws {
        let task = SergeantTask(kwargs: ["name": "héllo", "n": -3, "f": 1.5, "list": [1, nil, true], "map": ["a": "b"]],
                                traceID: "t-9", date: 1_700_000_000.25, runCount: 2)
        for compressor in [nil] + Compressor.allCases.map(Optional.some) {
            let encoder = TaskEncoder(serializer: .json, compressor: compressor)
            let stored = try encoder.encode(task)
            XCTAssertEqual(try encoder.decode(stored), task, "\(String(describing: compressor))")
            if compressor == nil {
                let text = String(decoding: stored, as: UTF8.self)
                XCTAssertTrue(text.hasPrefix(#"{"__task__":{"kwargs":{"name":"héllo","n":-3"#), text)
            }
        }
        XCTAssertThrowsError(try TaskEncoder(serializer: .json).decode(task.messagePack())) { error in
            XCTAssertTrue("\(error)".contains("JSON"), "\(error)")
        }
    }
}
