import Foundation
import SergeantTestSupport
import XCTest
@testable import SergeantCompression
@testable import SergeantCore

/// Task bytes written by Python sergeant 0.27 (every compressor) must decode to the values
/// Python put in them, and our encoder must write the same msgpack bytes.
final class PythonVectorTests: XCTestCase {
    struct Vector {
        let name: String
        let serializer: String
        let compressor: Compressor?
        let bytes: [UInt8]
        let raw: ValueMap
    }

    /// The vectors, read with our own JSON parser (Foundation's would turn Python's `0.0`
    /// into the integer 0).
    func vectors() throws -> [Vector] {
        let text = try String(contentsOf: ProjectPaths.pythonVectors, encoding: .utf8)
        let list = try XCTUnwrap(try Value(json: text).mapValue?["vectors"]?.arrayValue)
        return try list.map { value in
            let entry = try XCTUnwrap(value.mapValue)
            return Vector(name: try XCTUnwrap(entry["name"]?.stringValue), serializer: try XCTUnwrap(entry["serializer"]?.stringValue),
                          compressor: entry["compressor"]?.stringValue.flatMap(Compressor.init(rawValue:)),
                          bytes: try hexBytes(try XCTUnwrap(entry["hex"]?.stringValue)), raw: entry)
        }
    }

    func testEveryMsgpackVectorDecodesToPythonsValues() throws {
        let vectors = try vectors().filter { $0.serializer == "msgpack" }
        XCTAssertGreaterThanOrEqual(vectors.count, 45)
        for vector in vectors {
            let encoder = TaskEncoder(compressor: vector.compressor)
            let task = try encoder.decode(vector.bytes)
            let expected = try Self.pythonJSON(try XCTUnwrap(vector.raw["kwargs_json"]))
            XCTAssertEqual(Self.sorted(.map(task.kwargs)), Self.sorted(expected), "\(vector.name)/\(vector.compressor?.rawValue ?? "none")")
            XCTAssertEqual(task.traceID, vector.raw["trace_id"]?.stringValue)
            XCTAssertEqual(task.date, vector.raw["date"]?.doubleValue)
            XCTAssertEqual(task.runCount, vector.raw["run_count"]?.intValue)
        }
    }

    func testSergeantsTupleAndDatetimeExtensionsReadAsTheirValues() throws {
        for vector in try vectors() where vector.name == "extensions" {
            let kwargs = try TaskEncoder(compressor: vector.compressor).decode(vector.bytes).kwargs
            XCTAssertEqual(kwargs["when"]?.dateValue, 1_709_209_845.5)
            XCTAssertEqual(kwargs["tuple"]?.arrayValue, [1, "a", nil, 2.5])
            XCTAssertEqual(kwargs["empty_tuple"]?.arrayValue, [])
            XCTAssertEqual(kwargs["nested"]?.mapValue?["pair"]?.arrayValue?.first?.dateValue, 0)
        }
    }

    func testOurMsgpackBytesEqualPythons() throws {
        for vector in try vectors() where vector.serializer == "msgpack" && vector.compressor == nil {
            let task = try TaskEncoder().decode(vector.bytes)
            XCTAssertEqual(task.messagePack(), vector.bytes, "re-encoding \(vector.name) changed its bytes")
        }
    }

    func testPickleIsRefusedWithAClearMessage() throws {
        let pickled = try XCTUnwrap(try vectors().first { $0.serializer == "pickle" })
        XCTAssertThrowsError(try TaskEncoder().decode(pickled.bytes)) { error in
            XCTAssertTrue("\(error)".contains("pickle"), "\(error)")
        }
    }

    func testCompressedVectorsReadWithoutTheCompressorSayWhatTheyLookLike() throws {
        let vector = try XCTUnwrap(try vectors().first { $0.compressor == .zlib })
        XCTAssertThrowsError(try TaskEncoder(compressor: .gzip).decode(vector.bytes)) { error in
            XCTAssertTrue("\(error)".contains("zlib-compressed"), "\(error)")
        }
    }

    /// The value with every map's entries sorted by key (JSON objects have no order).
    static func sorted(_ value: Value) -> Value {
        switch value {
        case .map(let map):
            return .map(ValueMap(map.entries.map { .init(key: $0.key, value: sorted($0.value)) }
                .sorted { $0.key.description < $1.key.description }))
        case .array(let values):
            return .array(values.map(sorted))
        default:
            return value
        }
    }

    /// The vectors' JSON writes bytes as {"$bytes": hex}.
    static func pythonJSON(_ value: Value) throws -> Value {
        switch value {
        case .map(let map):
            if map.count == 1, let hex = map["$bytes"]?.stringValue { return .bytes(try hexBytes(hex)) }
            return .map(ValueMap(try map.entries.map { .init(key: $0.key, value: try pythonJSON($0.value)) }))
        case .array(let values):
            return .array(try values.map(pythonJSON))
        default:
            return value
        }
    }
}

func hexBytes(_ hex: String) throws -> [UInt8] {
    let characters = Array(hex.utf8)
    guard characters.count % 2 == 0 else { throw SupportError("odd hex length") }
    return try stride(from: 0, to: characters.count, by: 2).map { index in
        guard let byte = UInt8(String(decoding: characters[index...index + 1], as: UTF8.self), radix: 16) else {
            throw SupportError("bad hex")
        }
        return byte
    }
}
