// MARK: - Value

/// A dynamic value as sergeant's msgpack serializer carries it: task kwargs, values returned
/// by `work`, and values stored under keys.
///
/// Maps keep their insertion order (as Python dicts do), so a task decoded and encoded again
/// yields the same bytes. sergeant's extension markers (`{"__datetime__": float}` and
/// `{"__tuple__": [...]}`) stay plain maps here; ``dateValue`` and ``arrayValue`` read them.
public enum Value: Sendable, Hashable {
    /// msgpack nil, Python `None`.
    case null
    /// A boolean.
    case bool(Bool)
    /// A signed integer (every msgpack integer that fits in 64 signed bits).
    case int(Int64)
    /// An unsigned integer above `Int64.max`.
    case uint(UInt64)
    /// A floating point number (msgpack float32 and float64).
    case double(Double)
    /// A UTF-8 string.
    case string(String)
    /// Raw bytes (msgpack bin, Python `bytes`).
    case bytes([UInt8])
    /// An array (Python list).
    case array([Value])
    /// A map with ordered entries (Python dict).
    case map(ValueMap)
}

// MARK: - Typed accessors

extension Value {
    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is an integer that fits in `Int`.
    public var intValue: Int? {
        switch self {
        case .int(let value): return Int(exactly: value)
        case .uint(let value): return Int(exactly: value)
        default: return nil
        }
    }

    /// The number as a double, when this is any number.
    public var doubleValue: Double? {
        switch self {
        case .double(let value): return value
        case .int(let value): return Double(value)
        case .uint(let value): return Double(value)
        default: return nil
        }
    }

    /// The boolean, when this is a boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The bytes, when this is binary data.
    public var bytesValue: [UInt8]? {
        if case .bytes(let value) = self { return value }
        return nil
    }

    /// The elements, when this is an array or sergeant's `{"__tuple__": [...]}` marker.
    public var arrayValue: [Value]? {
        switch self {
        case .array(let value): return value
        case .map(let map): return map["__tuple__"]?.arrayValue
        default: return nil
        }
    }

    /// The map, when this is a map.
    public var mapValue: ValueMap? {
        if case .map(let value) = self { return value }
        return nil
    }

    /// The unix time held by sergeant's `{"__datetime__": float}` marker.
    public var dateValue: Double? {
        mapValue?["__datetime__"]?.doubleValue
    }

    /// True for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The value under a string key, when this is a map.
    public subscript(key: String) -> Value? {
        mapValue?[key]
    }

    /// The element at `index`, when this is an array holding that many.
    public subscript(index: Int) -> Value? {
        guard case .array(let values) = self, values.indices.contains(index) else { return nil }
        return values[index]
    }
}

// MARK: - Literals

extension Value: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is `.null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// A float literal.
    public init(floatLiteral value: Double) { self = .double(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    /// A dictionary literal with string keys, in written order.
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .map(ValueMap(elements.map { ValueMap.Entry(key: .string($0.0), value: $0.1) }))
    }
}

// MARK: - Description

extension Value: CustomStringConvertible {
    /// A Python-like rendering, as sergeant's logs show kwargs: `{'some_parameter': 'one'}`.
    public var description: String {
        switch self {
        case .null: return "None"
        case .bool(let value): return value ? "True" : "False"
        case .int(let value): return String(value)
        case .uint(let value): return String(value)
        case .double(let value): return value.isFinite && value == value.rounded() && abs(value) < 1e16
            ? String(format: value) : String(value)
        case .string(let value): return "'\(value)'"
        case .bytes(let value): return "b'" + value.map { byte in
            (32..<127).contains(byte) && byte != 39 && byte != 92
                ? String(UnicodeScalar(byte)) : "\\x" + hex(byte)
        }.joined() + "'"
        case .array(let values): return "[" + values.map(\.description).joined(separator: ", ") + "]"
        case .map(let map):
            return "{" + map.entries.map { "\($0.key): \($0.value)" }.joined(separator: ", ") + "}"
        }
    }
}

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0xf)]])
}

private extension String {
    /// Python prints whole floats as `1.0`.
    init(format value: Double) {
        self = String(Int64(value)) + ".0"
    }
}
