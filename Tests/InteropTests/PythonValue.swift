import SergeantCore

// MARK: - PythonValue

/// A value as Python sees it, with the types sergeant's msgpack serializer tells apart on the
/// Python side: a tuple is not a list and a datetime is not a map there, while on the wire
/// (and so on the Swift side) they are `{"__tuple__": [...]}` and `{"__datetime__": ts}`.
///
/// It crosses to and from the Python scripts (Tests/Interop) as their "typed JSON"; the
/// expected Swift ``Value`` of each is computed here by hand (``wireValue``), independently of
/// SergeantCore's msgpack code, which is under test.
indirect enum PythonValue: Sendable, Hashable, CustomStringConvertible {
    case none
    case bool(Bool)
    /// A Python int, as decimal text (Python ints have no size limit).
    case int(String)
    /// A Python float, as its IEEE 754 bit pattern (exact, and -0.0 differs from 0.0).
    case float(UInt64)
    case str(String)
    case bytes([UInt8])
    case list([PythonValue])
    case tuple([PythonValue])
    /// A dict, in insertion order.
    case dict([Pair])
    /// A naive datetime, as its `.timestamp()`.
    case datetime(Double)

    /// One dict entry.
    struct Pair: Sendable, Hashable {
        var key: PythonValue
        var value: PythonValue
    }

    static func int(_ number: Int64) -> PythonValue { .int(String(number)) }
    static func uint(_ number: UInt64) -> PythonValue { .int(String(number)) }
    static func float(_ number: Double) -> PythonValue { .float(number.bitPattern) }
    static func dict(_ entries: KeyValuePairs<String, PythonValue>) -> PythonValue {
        .dict(entries.map { Pair(key: .str($0.key), value: $0.value) })
    }

    var description: String {
        switch self {
        case .none: return "None"
        case .bool(let flag): return flag ? "True" : "False"
        case .int(let text): return text
        case .float(let bits): return "\(Double(bitPattern: bits))"
        case .str(let text): return "'\(text)'"
        case .bytes(let data): return "b'\(hex(data))'"
        case .list(let items): return "[\(items.map(\.description).joined(separator: ", "))]"
        case .tuple(let items): return "(\(items.map(\.description).joined(separator: ", ")),)"
        case .dict(let pairs): return "{\(pairs.map { "\($0.key): \($0.value)" }.joined(separator: ", "))}"
        case .datetime(let timestamp): return "datetime.fromtimestamp(\(timestamp))"
        }
    }

    // MARK: The wire

    /// What sergeant's msgpack serializer puts on the wire for this value, as SergeantCore
    /// decodes it: tuples and datetimes become its marker maps.
    var wireValue: Value {
        switch self {
        case .none: return .null
        case .bool(let flag): return .bool(flag)
        case .int(let text):
            if let signed = Int64(text) { return .int(signed) }
            return .uint(UInt64(text)!)
        case .float(let bits): return .double(Double(bitPattern: bits))
        case .str(let text): return .string(text)
        case .bytes(let data): return .bytes(data)
        case .list(let items): return .array(items.map(\.wireValue))
        case .tuple(let items): return .map(ValueMap([ValueMap.Entry(key: .string("__tuple__"), value: .array(items.map(\.wireValue)))]))
        case .dict(let pairs): return .map(ValueMap(pairs.map { ValueMap.Entry(key: $0.key.wireValue, value: $0.value.wireValue) }))
        case .datetime(let timestamp): return .map(ValueMap([ValueMap.Entry(key: .string("__datetime__"), value: .double(timestamp))]))
        }
    }

    // MARK: Typed JSON

    /// The typed JSON text of Tests/Interop/interop_common.py.
    var typedJSON: String {
        switch self {
        case .none: return #"{"t":"nil"}"#
        case .bool(let flag): return #"{"t":"bool","v":\#(flag)}"#
        case .int(let text): return #"{"t":"int","v":"\#(text)"}"#
        case .float(let bits): return #"{"t":"float","v":"\#(hex(bits))"}"#
        case .str(let text): return #"{"t":"str","v":\#(jsonString(text))}"#
        case .bytes(let data): return #"{"t":"bytes","v":"\#(hex(data))"}"#
        case .list(let items): return #"{"t":"list","v":[\#(items.map(\.typedJSON).joined(separator: ","))]}"#
        case .tuple(let items): return #"{"t":"tuple","v":[\#(items.map(\.typedJSON).joined(separator: ","))]}"#
        case .dict(let pairs):
            return #"{"t":"map","v":[\#(pairs.map { "[\($0.key.typedJSON),\($0.value.typedJSON)]" }.joined(separator: ","))]}"#
        case .datetime(let timestamp): return #"{"t":"datetime","v":"\#(hex(timestamp.bitPattern))"}"#
        }
    }

    /// Reads typed JSON that SergeantCore's JSON parser has turned into a value.
    init(typed: Value) throws {
        guard let tag = typed["t"]?.stringValue else { throw InteropError("not typed JSON: \(typed)") }
        let content = typed["v"]
        switch tag {
        case "nil": self = .none
        case "bool":
            guard let flag = content?.boolValue else { throw InteropError("bad bool \(typed)") }
            self = .bool(flag)
        case "int":
            guard let text = content?.stringValue else { throw InteropError("bad int \(typed)") }
            self = .int(text)
        case "float":
            guard let text = content?.stringValue, let bits = UInt64(text, radix: 16) else { throw InteropError("bad float \(typed)") }
            self = .float(bits)
        case "str":
            guard let text = content?.stringValue else { throw InteropError("bad str \(typed)") }
            self = .str(text)
        case "bytes":
            guard let text = content?.stringValue, let data = decodeHex(text) else { throw InteropError("bad bytes \(typed)") }
            self = .bytes(data)
        case "list", "tuple":
            guard case .array(let items)? = content else { throw InteropError("bad \(tag) \(typed)") }
            let values = try items.map(PythonValue.init(typed:))
            self = tag == "list" ? .list(values) : .tuple(values)
        case "map":
            guard case .array(let items)? = content else { throw InteropError("bad map \(typed)") }
            self = .dict(try items.map { item in
                guard case .array(let pair) = item, pair.count == 2 else { throw InteropError("bad map entry \(item)") }
                return Pair(key: try PythonValue(typed: pair[0]), value: try PythonValue(typed: pair[1]))
            })
        case "datetime":
            guard let text = content?.stringValue, let bits = UInt64(text, radix: 16) else { throw InteropError("bad datetime \(typed)") }
            self = .datetime(Double(bitPattern: bits))
        default:
            throw InteropError("unknown typed JSON tag \(tag)")
        }
    }
}

// MARK: - The payload

extension PythonValue {
    /// kwargs covering what sergeant's msgpack serializer carries: None, bools, every integer
    /// width (negative, 64-bit, uint64 max), floats, unicode and long strings, bytes, lists,
    /// nested and large maps, non-string keys, tuples and datetimes.
    static let payload: PythonValue = .dict([
        "none": .none,
        "true": .bool(true),
        "false": .bool(false),
        "zero": .int(0),
        "positive_fixint": .int(127),
        "uint8": .int(200),
        "uint16": .int(65535),
        "uint32": .int(4_294_967_295),
        "uint64_small": .int(4_294_967_296),
        "negative_fixint": .int(-32),
        "int8": .int(-33),
        "int16": .int(-32769),
        "int32": .int(-2_147_483_649),
        "int64_max": .int(Int64.max),
        "int64_min": .int(Int64.min),
        "above_int64_max": .uint(UInt64(Int64.max) + 1),
        "uint64_max": .uint(UInt64.max),
        "float": .float(3.141592653589793),
        "float_negative": .float(-2.5e-7),
        "float_negative_zero": .float(-0.0),
        "float_integral": .float(2.0),
        "float_infinity": .float(Double.infinity),
        "float_largest": .float(Double.greatestFiniteMagnitude),
        "float_subnormal": .float(Double.leastNonzeroMagnitude),
        "empty_string": .str(""),
        "unicode": .str("héllo wörld — 日本語 — Ελληνικά — 🚀👩‍💻"),
        "nul_inside": .str("a\u{0}b\n\t\"quoted\"\\"),
        "str8": .str(String(repeating: "x", count: 40)),
        "str16": .str(String(repeating: "ü", count: 200)),
        "bytes": .bytes([0x00, 0xff, 0x80, 0x7f, 0x0a]),
        "empty_bytes": .bytes([]),
        "bin16": .bytes((0..<300).map { UInt8($0 % 256) }),
        "list": .list([.int(1), .str("two"), .none, .float(3.5), .bool(false), .bytes([0x01])]),
        "empty_list": .list([]),
        "array16": .list((0..<20).map { .int(Int64($0)) }),
        "nested_list": .list([.list([.int(1), .list([.int(2), .list([.int(3)])])]), .list([])]),
        "map": .dict(["a": .int(1), "b": .dict(["c": .list([.int(1), .dict(["d": .none])])])]),
        "empty_map": .dict([]),
        "map16": .dict((0..<20).map { Pair(key: .str("key\($0)"), value: .int(Int64($0 * $0))) }),
        "non_string_keys": .dict([Pair(key: .int(1), value: .str("one")), Pair(key: .int(-2), value: .str("minus two")),
                                  Pair(key: .uint(UInt64.max), value: .bool(true))]),
        "tuple": .tuple([.int(1), .str("x"), .bytes([0x79]), .none]),
        "empty_tuple": .tuple([]),
        "nested_tuple": .tuple([.tuple([.int(1), .int(2)]), .tuple([.int(3)]), .list([.tuple([.int(4)])])]),
        "tuples_in_list": .list([.tuple([.int(1), .int(2)]), .tuple([.str("a")])]),
        "datetime": .datetime(1_709_209_845.5),
        "datetime_microseconds": .datetime(1_709_209_845.123456),
        "datetimes_in_tuple": .tuple([.datetime(0.25), .datetime(951_782_400)]),
        "ключ": .str("значение"),
        "🔑": .dict(["inner": .tuple([.str("ok")])]),
    ])
}

// MARK: - Helpers

/// A failure of the interop test harness.
struct InteropError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

func hex(_ data: [UInt8]) -> String {
    data.map { byte in
        let text = String(byte, radix: 16)
        return byte < 16 ? "0" + text : text
    }.joined()
}

func hex(_ bits: UInt64) -> String {
    let text = String(bits, radix: 16)
    return String(repeating: "0", count: 16 - text.count) + text
}

func decodeHex(_ text: some StringProtocol) -> [UInt8]? {
    let digits = Array(text.utf8)
    guard digits.count.isMultiple(of: 2) else { return nil }
    var result: [UInt8] = []
    result.reserveCapacity(digits.count / 2)
    var index = 0
    while index < digits.count {
        guard let byte = UInt8(String(decoding: digits[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
        result.append(byte)
        index += 2
    }
    return result
}

/// JSON string literal for `text`.
func jsonString(_ text: String) -> String {
    var result = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": result += "\\\""
        case "\\": result += "\\\\"
        case "\n": result += "\\n"
        case "\t": result += "\\t"
        case "\r": result += "\\r"
        default:
            if scalar.value < 0x20 {
                let code = String(scalar.value, radix: 16)
                result += "\\u" + String(repeating: "0", count: 4 - code.count) + code
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
    }
    return result + "\""
}

/// CRC-32 (IEEE 802.3, as zlib's crc32 and Python's binascii.crc32), written out here so that
/// the expected node of a key does not come from the code under test.
func crc32(_ text: String) -> UInt32 {
    var crc: UInt32 = 0xffff_ffff
    for byte in text.utf8 {
        crc ^= UInt32(byte)
        for _ in 0..<8 {
            crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xedb8_8320 : crc >> 1
        }
    }
    return ~crc
}
