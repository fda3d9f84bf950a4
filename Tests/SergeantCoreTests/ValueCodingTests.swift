import Foundation
import XCTest
@testable import SergeantCore

/// ValueEncoder and ValueDecoder: Codable straight to and from `Value`, without JSON.
final class ValueCodingTests: XCTestCase {
    enum Color: String, Codable, Equatable { case red, green }
    enum Size: Int, Codable, Equatable { case small = 1, large = 3 }

    struct Item: Codable, Equatable {
        var name: String
        var size: Size
        var weight: Double?
    }

    struct Order: Codable, Equatable {
        var id: UInt64
        var color: Color
        var items: [Item]
        var tags: Set<String>
        var counts: [String: Int]
        var note: String?
        var payload: Data
        var raw: [UInt8]
        var matrix: [[Int8]]
        var flags: [Bool?]
        var ratio: Float
    }

    static let order = Order(id: UInt64.max, color: .green,
                             items: [Item(name: "a", size: .small, weight: 1.5), Item(name: "b", size: .large, weight: nil)],
                             tags: ["x"], counts: ["one": 1, "two": 2], note: nil, payload: Data([0, 1, 255]),
                             raw: [7, 8], matrix: [[-128, 127], []], flags: [true, nil, false], ratio: 0.25)

    func testRoundTripOfNestedTypes() throws {
        let value = try ValueEncoder().encode(Self.order)
        XCTAssertEqual(value["id"], .uint(UInt64.max))
        XCTAssertEqual(value["color"], "green")
        XCTAssertEqual(value["items"]?[1], ["name": "b", "size": 3])  // nil optional: key left out
        XCTAssertNil(value.mapValue?["note"])
        XCTAssertEqual(value["payload"], .bytes([0, 1, 255]))
        XCTAssertEqual(value["raw"], .bytes([7, 8]))
        XCTAssertEqual(value["flags"], [true, nil, false])
        XCTAssertEqual(value.mapValue?.keys, ["id", "color", "items", "tags", "counts", "payload", "raw", "matrix", "flags", "ratio"])
        XCTAssertEqual(try ValueDecoder().decode(Order.self, from: value), Self.order)
        // Through msgpack too.
        XCTAssertEqual(try ValueDecoder().decode(Order.self, from: MessagePack.decode(MessagePack.encode(value))), Self.order)
    }

    func testSameValueAsJSONExceptBytes() throws {
        struct Plain: Codable { var a: Int; var b: [String: [Double]]; var c: String?; var d: [Item]; var e: Bool }
        let plain = Plain(a: -3, b: ["k": [1.5, -2.25]], c: "é\"", d: [Item(name: "n", size: .small, weight: 2.5)], e: true)
        let viaJSON = try Value(json: String(decoding: JSONEncoder().encode(plain), as: UTF8.self))
        XCTAssertEqual(canonical(try ValueEncoder().encode(plain)), canonical(viaJSON))
    }

    func testBytesDecodeAsDataAndByteArrays() throws {
        let bytes = Value.bytes([1, 2, 3])
        XCTAssertEqual(try ValueDecoder().decode(Data.self, from: bytes), Data([1, 2, 3]))
        XCTAssertEqual(try ValueDecoder().decode([UInt8].self, from: bytes), [1, 2, 3])
        XCTAssertEqual(try ValueDecoder().decode([Int].self, from: bytes), [1, 2, 3])
        // An array of small numbers is bytes too, as JSON gave them.
        XCTAssertEqual(try ValueDecoder().decode(Data.self, from: [4, 5]), Data([4, 5]))
        XCTAssertEqual(try ValueEncoder().encode(Data([1])), .bytes([1]))
        XCTAssertEqual(try ValueEncoder().encode(ContiguousArray<UInt8>([9])), .bytes([9]))
        XCTAssertEqual(try ValueEncoder().encode(Data()), .bytes([]))
        // Collections of bytes with a Codable form of their own keep it.
        XCTAssertEqual(try ValueEncoder().encode(UInt8(2)..<5), [2, 5])
        XCTAssertEqual(try ValueDecoder().decode(Range<UInt8>.self, from: ValueEncoder().encode(UInt8(2)..<5)), 2..<5)
        XCTAssertEqual(try ValueEncoder().encode([UInt16(1)]), [1])
    }

    func testSergeantTuplesDecodeAsArrays() throws {
        let tuple: Value = ["__tuple__": [1, 2]]
        XCTAssertEqual(try ValueDecoder().decode([Int].self, from: tuple), [1, 2])
    }

    func testIntegerRangesAreChecked() throws {
        struct Small: Codable { var values: [UInt8] }
        struct Outer: Codable { var inner: Small }
        let value: Value = ["inner": ["values": [1, 300]]]
        XCTAssertThrowsError(try ValueDecoder().decode(Outer.self, from: value)) { error in
            guard case DecodingError.dataCorrupted(let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["inner", "values", "Index 1"])
            XCTAssertEqual(context.codingPath.last?.intValue, 1)
            XCTAssertEqual(context.debugDescription, "Number 300 does not fit in UInt8.")
            XCTAssertTrue("\(error)".contains("inner"), "\(error)")
        }
        XCTAssertThrowsError(try ValueDecoder().decode(Int8.self, from: -129))
        XCTAssertThrowsError(try ValueDecoder().decode(UInt.self, from: -1))
        XCTAssertThrowsError(try ValueDecoder().decode(Int64.self, from: .uint(UInt64.max)))
        XCTAssertThrowsError(try ValueDecoder().decode(Int.self, from: 1.5))
        XCTAssertThrowsError(try ValueDecoder().decode(Float.self, from: 1e300))
        XCTAssertEqual(try ValueDecoder().decode(Int.self, from: 2.0), 2)
        XCTAssertEqual(try ValueDecoder().decode(Double.self, from: 2), 2.0)
        XCTAssertEqual(try ValueDecoder().decode(UInt64.self, from: .uint(UInt64.max)), UInt64.max)
        XCTAssertEqual(try ValueDecoder().decode(Int16.self, from: -32768), Int16.min)
        XCTAssertEqual(try ValueEncoder().encode(UInt64(1) << 63), .uint(1 << 63))
        XCTAssertEqual(try ValueEncoder().encode(UInt8(255)), .int(255))
    }

    func testMismatchesNameTheCodingPath() throws {
        XCTAssertThrowsError(try ValueDecoder().decode(Item.self, from: ["name": 1, "size": 1])) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["name"])
            XCTAssertEqual(context.debugDescription, "Expected String but found an integer.")
        }
        XCTAssertThrowsError(try ValueDecoder().decode(Item.self, from: ["name": "n"])) { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "size")
        }
        XCTAssertThrowsError(try ValueDecoder().decode(Item.self, from: ["name": nil, "size": 1])) { error in
            guard case DecodingError.valueNotFound = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try ValueDecoder().decode([Item].self, from: ["name": "n"])) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.debugDescription, "Expected an array but found a map.")
        }
        XCTAssertThrowsError(try ValueDecoder().decode(Size.self, from: 2)) { error in
            guard case DecodingError.dataCorrupted = error else { return XCTFail("\(error)") }
        }
    }

    func testSnakeCaseKeysBothWays() throws {
        struct Keys: Codable, Equatable { var someParameter: Int; var plain: Bool; var nested: [String: Int]; var innerItem: Item? }
        let keys = Keys(someParameter: 1, plain: true, nested: ["innerKey": 2], innerItem: Item(name: "n", size: .large, weight: nil))
        let value = try ValueEncoder(keyEncodingStrategy: .convertToSnakeCase).encode(keys)
        // Dictionary keys are data: they stay as they are, as with JSONEncoder.
        XCTAssertEqual(value, ["some_parameter": 1, "plain": true, "nested": ["innerKey": 2], "inner_item": ["name": "n", "size": 3]])
        XCTAssertEqual(try ValueDecoder(keyDecodingStrategy: .convertFromSnakeCase).decode(Keys.self, from: value), keys)
        XCTAssertEqual(try value.decode(Keys.self, keyDecodingStrategy: .convertFromSnakeCase), keys)
        XCTAssertThrowsError(try ValueDecoder().decode(Keys.self, from: value))
        // Acronyms do not survive the round trip, as with the JSON coders.
        struct Acronym: Codable { var myURLValue: Int }
        let acronym = try ValueEncoder(keyEncodingStrategy: .convertToSnakeCase).encode(Acronym(myURLValue: 1))
        XCTAssertEqual(acronym, ["my_url_value": 1])
        XCTAssertThrowsError(try acronym.decode(Acronym.self, keyDecodingStrategy: .convertFromSnakeCase)) { error in
            XCTAssertTrue("\(error)".contains("myURLValue"), "\(error)")
        }
    }

    func testKeyConversionsMatchJSONCoders() throws {
        for key in ["someParameter", "myURLValue", "URL", "url", "a", "", "aB", "ABc", "already_snake", "x1Y2", "_private", "value_",
                    "éTé", "someURL", "HTTPServer", "aBCDe"] {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let json = try JSONSerialization.jsonObject(with: encoder.encode(OneKey(key: key))) as? [String: Int]
            XCTAssertEqual(snakeCased(key), json?.keys.first, key)
            XCTAssertEqual(try ValueEncoder(keyEncodingStrategy: .convertToSnakeCase).encode(OneKey(key: key)).mapValue?.keys, json.map { Array($0.keys) })
        }
        struct Probe: Decodable {
            let keys: [String]
            struct AnyKey: CodingKey {
                var stringValue: String
                var intValue: Int? { nil }
                init(stringValue: String) { self.stringValue = stringValue }
                init?(intValue: Int) { nil }
            }
            init(from decoder: any Decoder) throws { keys = try decoder.container(keyedBy: AnyKey.self).allKeys.map(\.stringValue) }
        }
        for key in ["some_parameter", "my_url_value", "_leading", "trailing__", "__both__", "a__b", "UPPER_CASE", "plain", "camelCase",
                    "one_two_three", "_", "", "x_1"] {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let json = try decoder.decode(Probe.self, from: JSONSerialization.data(withJSONObject: [key: 1]))
            XCTAssertEqual(camelCased(key), json.keys.first, key)
        }
    }

    /// A map of one key, named at run time.
    struct OneKey: Encodable {
        let key: String
        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }
        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(1, forKey: Key(stringValue: key))
        }
    }

    /// Maps with sorted keys and integral floats as integers: JSONEncoder orders keys at random
    /// and Value(json:) reads 2.0 written as `2` as an integer.
    func canonical(_ value: Value) -> Value {
        switch value {
        case .double(let number) where number == number.rounded() && abs(number) < 1e15: return .int(Int64(number))
        case .array(let values): return .array(values.map(canonical))
        case .map(let map):
            return .map(ValueMap(map.entries.map { ValueMap.Entry(key: $0.key, value: canonical($0.value)) }
                .sorted { ($0.key.stringValue ?? "") < ($1.key.stringValue ?? "") }))
        default: return value
        }
    }

    func testOptionalsAndTopLevelValues() throws {
        XCTAssertEqual(try ValueEncoder().encode(Optional<Int>.none), .null)
        XCTAssertEqual(try ValueEncoder().encode("s"), "s")
        XCTAssertEqual(try ValueDecoder().decode(Int?.self, from: .null), nil)
        XCTAssertEqual(try ValueDecoder().decode(Int?.self, from: 4), 4)
        XCTAssertEqual(try ValueDecoder().decode([String?].self, from: ["a", nil]), ["a", nil])
        struct Nothing: Encodable { func encode(to encoder: any Encoder) throws {} }
        XCTAssertThrowsError(try ValueEncoder().encode(Nothing()))
        XCTAssertEqual(try ValueEncoder().encode([Nothing()]), [[:]])
    }

    class Base: Codable {
        var base: Int
        init(base: Int) { self.base = base }
    }

    final class Derived: Base {
        var extra: String
        init(base: Int, extra: String) {
            self.extra = extra
            super.init(base: base)
        }
        enum CodingKeys: String, CodingKey { case extra }
        required init(from decoder: any Decoder) throws {
            extra = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .extra)
            try super.init(from: decoder.container(keyedBy: CodingKeys.self).superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(extra, forKey: .extra)
            try super.encode(to: container.superEncoder())
        }
    }

    func testSuperEncodersAndNestedContainers() throws {
        let value = try ValueEncoder().encode(Derived(base: 1, extra: "e"))
        XCTAssertEqual(value, ["extra": "e", "super": ["base": 1]])
        let decoded = try ValueDecoder().decode(Derived.self, from: value)
        XCTAssertEqual(decoded.base, 1)
        XCTAssertEqual(decoded.extra, "e")

        struct Custom: Codable, Equatable {
            var x: Int
            var ys: [Int]
            enum Keys: String, CodingKey { case point, list }
            enum PointKeys: String, CodingKey { case x }
            init(x: Int, ys: [Int]) { self.x = x; self.ys = ys }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                x = try container.nestedContainer(keyedBy: PointKeys.self, forKey: .point).decode(Int.self, forKey: .x)
                var list = try container.nestedUnkeyedContainer(forKey: .list)
                var ys: [Int] = []
                var inner = try list.nestedUnkeyedContainer()
                while !inner.isAtEnd { ys.append(try inner.decode(Int.self)) }
                self.ys = ys
            }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                var point = container.nestedContainer(keyedBy: PointKeys.self, forKey: .point)
                try point.encode(x, forKey: .x)
                var list = container.nestedUnkeyedContainer(forKey: .list)
                var inner = list.nestedUnkeyedContainer()
                for y in ys { try inner.encode(y) }
            }
        }
        let custom = Custom(x: 5, ys: [1, 2])
        let encoded = try ValueEncoder().encode(custom)
        XCTAssertEqual(encoded, ["point": ["x": 5], "list": [[1, 2]]])
        XCTAssertEqual(try ValueDecoder().decode(Custom.self, from: encoded), custom)
    }

    func testWorkerConfigRoundTripThroughMessagePack() throws {
        let config = WorkerConfig(name: "w", connector: .redis(nodes: [RedisNode(host: "h", port: 1, password: "p", database: 2),
                                                                      RedisNode(host: "i", port: 70000)]),
                                  maxTasksPerRun: 5, maxRetries: 3, tasksPerTransaction: 10, numberOfThreads: 4,
                                  encoder: EncoderConfig(serializer: .json, compressor: .lzma), timeouts: Timeouts(timeout: 1.5, gracePeriod: 2),
                                  logging: LoggingConfig(level: .info, logToStdout: true), starvation: Starvation(timeWithNoTasks: 4),
                                  atLeastOnce: false, maxDeaths: 7, maxTaskSize: 1 << 40)
        let bytes = MessagePack.encode(try ValueEncoder().encode(config))
        XCTAssertEqual(try ValueDecoder().decode(WorkerConfig.self, from: MessagePack.decode(bytes)), config)
        // The same keys as JSON.
        let value = try ValueEncoder().encode(config)
        XCTAssertEqual(canonical(value), canonical(try Value(json: String(decoding: JSONEncoder().encode(config), as: UTF8.self))))
        XCTAssertEqual(try ValueDecoder().decode(WorkerConfig.self, from: ["name": "w"]), WorkerConfig(name: "w"))
        XCTAssertEqual(try ValueDecoder().decode(WorkerConfig.self, from: ValueEncoder().encode(WorkerConfig(name: "d"))), WorkerConfig(name: "d"))
        // A JSON config as a C plugin writes it.
        let json = try Value(json: #"{"name": "c", "connector": {"type": "redis", "params": {"nodes": [{"port": 6390}]}}, "logging": {"level": 20}}"#)
        let fromJSON = try ValueDecoder().decode(WorkerConfig.self, from: json)
        XCTAssertEqual(fromJSON.connector.params.nodes, [RedisNode(port: 6390)])
        XCTAssertEqual(fromJSON.logging.level, .info)
        XCTAssertThrowsError(try ValueDecoder().decode(WorkerConfig.self, from: ["name": "w", "connector": ["type": "redis", "params": ["nodes": [["port": "x"]]]]])) { error in
            guard case DecodingError.typeMismatch(_, let context) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(context.codingPath.map(\.stringValue), ["connector", "params", "nodes", "Index 0", "port"])
        }
    }

    func testUserInfoReachesTheTypes() throws {
        let key = CodingUserInfoKey(rawValue: "scale")!
        struct Scaled: Codable {
            var value: Int
            init(value: Int) { self.value = value }
            init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(Int.self) * (decoder.userInfo[CodingUserInfoKey(rawValue: "scale")!] as! Int) }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(value * (encoder.userInfo[CodingUserInfoKey(rawValue: "scale")!] as! Int))
            }
        }
        XCTAssertEqual(try ValueEncoder(userInfo: [key: 10]).encode(Scaled(value: 2)), 20)
        XCTAssertEqual(try ValueDecoder(userInfo: [key: 3]).decode(Scaled.self, from: 2).value, 6)
    }

    func testLargeMapsAndRepeatedKeys() throws {
        var counts: [String: Int] = [:]
        for index in 0..<500 { counts["k\(index)"] = index }
        let value = try ValueEncoder().encode(counts)
        XCTAssertEqual(value.mapValue?.count, 500)
        XCTAssertEqual(try ValueDecoder().decode([String: Int].self, from: value), counts)
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encode(2, forKey: .b)
                try container.encode(3, forKey: .a)
            }
        }
        XCTAssertEqual(try ValueEncoder().encode(Twice()), ["a": 3, "b": 2])
    }

    func testBase64MatchesFoundation() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            XCTAssertEqual(base64(bytes), Data(bytes).base64EncodedString())
        }
        XCTAssertEqual(Value.bytes([0, 255]).jsonText, "\"AP8=\"")
    }
}
