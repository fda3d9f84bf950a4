// MARK: - ValueDecoder

/// Decodes a `Decodable` type from a ``Value`` directly, without JSON and without
/// Foundation: maps decode keyed containers (non-string keys read as their description),
/// arrays unkeyed ones.
///
/// - Integers decode into any integer type they fit (a number out of the type's range is an
///   error naming the coding path); a float with an integral value decodes as an integer,
///   and any number as a floating point type.
/// - `.bytes` decode as an unkeyed container of `UInt8`: `[UInt8]` and `Data` read them.
/// - sergeant's tuple marker `{"__tuple__": [...]}` decodes as an array.
/// - Optionals read `.null` and missing keys as nil.
///
/// ```swift
/// let parameters = try ValueDecoder(keyDecodingStrategy: .convertFromSnakeCase).decode(Parameters.self, from: value)
/// ```
public struct ValueDecoder: Sendable {
    /// How map keys are matched to property names.
    public enum KeyDecodingStrategy: Sendable, Hashable {
        /// The keys the type's `CodingKeys` give.
        case useDefaultKeys
        /// snake_case map keys become camelCase before they are matched (`some_parameter`
        /// -> `someParameter`; leading and trailing underscores are kept), as JSONDecoder's
        /// strategy of that name: `CodingKeys` that spell snake_case names themselves no
        /// longer match, and acronyms come back capitalized (`my_url` -> `myUrl`). The keys
        /// of `[String: V]` dictionaries are data and stay as they are.
        case convertFromSnakeCase
    }

    /// How map keys are matched to property names.
    public var keyDecodingStrategy: KeyDecodingStrategy
    /// Given to the types decoded as `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// Creates a decoder.
    public init(keyDecodingStrategy: KeyDecodingStrategy = .useDefaultKeys, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.keyDecodingStrategy = keyDecodingStrategy
        self.userInfo = userInfo
    }

    /// Decodes `type` from `value`. Throws `DecodingError`s whose coding path names where
    /// the value did not fit, and whatever the type's `init(from:)` throws.
    public func decode<T: Decodable>(_ type: T.Type = T.self, from value: Value) throws -> T {
        let options = DecodingOptions(keyStrategy: keyDecodingStrategy, userInfo: userInfo)
        return try ValueDecoding.unbox(value, as: T.self, codingPath: [], options: options)
    }
}

/// What the decoder of one value was given, shared by every nested decoder.
final class DecodingOptions {
    let keyStrategy: ValueDecoder.KeyDecodingStrategy
    let userInfo: [CodingUserInfoKey: Any]

    init(keyStrategy: ValueDecoder.KeyDecodingStrategy, userInfo: [CodingUserInfoKey: any Sendable]) {
        self.keyStrategy = keyStrategy
        self.userInfo = userInfo
    }
}

// MARK: - Decoder

/// The `Decoder` of one value; also its single value container.
struct ValueDecoding: Decoder, SingleValueDecodingContainer {
    let value: Value
    let codingPath: [any CodingKey]
    let options: DecodingOptions
    var userInfo: [CodingUserInfoKey: Any] { options.userInfo }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let map) = value else {
            throw mismatch([String: Any].self, value, codingPath, wanted: "a map")
        }
        return KeyedDecodingContainer(ValueKeyedDecodingContainer<Key>(map: map, codingPath: codingPath, options: options))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        switch value {
        case .array(let values):
            return ValueUnkeyedDecodingContainer(elements: .values(values), codingPath: codingPath, options: options)
        case .bytes(let bytes):
            return ValueUnkeyedDecodingContainer(elements: .bytes(bytes), codingPath: codingPath, options: options)
        default:
            guard let values = value.arrayValue else { throw mismatch([Any].self, value, codingPath, wanted: "an array") }
            return ValueUnkeyedDecodingContainer(elements: .values(values), codingPath: codingPath, options: options)
        }
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        self
    }

    // MARK: Single value

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try unboxBool(value, codingPath) }
    func decode(_ type: String.Type) throws -> String { try unboxString(value, codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try unboxFloat(value, Double.self, codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try unboxFloat(value, Float.self, codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try unboxInteger(value, Int.self, codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try unboxInteger(value, Int8.self, codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try unboxInteger(value, Int16.self, codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try unboxInteger(value, Int32.self, codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try unboxInteger(value, Int64.self, codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try unboxInteger(value, UInt.self, codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unboxInteger(value, UInt8.self, codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unboxInteger(value, UInt16.self, codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unboxInteger(value, UInt32.self, codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unboxInteger(value, UInt64.self, codingPath) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try Self.unbox(value, as: T.self, codingPath: codingPath, options: options) }

    /// `type` decoded from `value`, found at `codingPath`.
    static func unbox<T: Decodable>(_ value: Value, as type: T.Type, codingPath: [any CodingKey], options: DecodingOptions) throws -> T {
        // The common leaves without a decoder of their own.
        if T.self == String.self { return try unboxString(value, codingPath) as! T }
        if T.self == Int.self { return try unboxInteger(value, Int.self, codingPath) as! T }
        if T.self == Double.self { return try unboxFloat(value, Double.self, codingPath) as! T }
        if T.self == Bool.self { return try unboxBool(value, codingPath) as! T }
        if T.self == [UInt8].self, case .bytes(let bytes) = value { return bytes as! T }
        if options.keyStrategy != .useDefaultKeys, let dictionary = T.self as? any StringKeyedDictionaryDecodable.Type {
            guard case .map(let map) = value else { throw mismatch(T.self, value, codingPath, wanted: "a map") }
            return try dictionary.decodeEntries(map, codingPath: codingPath, options: options) as! T
        }
        return try T(from: ValueDecoding(value: value, codingPath: codingPath, options: options))
    }
}

// MARK: - Dictionaries

/// `[String: V]`: its keys are data, not property names, so a key strategy leaves them as
/// they are (as JSONDecoder does).
protocol StringKeyedDictionaryDecodable {
    static func decodeEntries(_ map: ValueMap, codingPath: [any CodingKey], options: DecodingOptions) throws -> Self
}

extension Dictionary: StringKeyedDictionaryDecodable where Key == String, Value: Decodable {
    static func decodeEntries(_ map: ValueMap, codingPath: [any CodingKey], options: DecodingOptions) throws -> Self {
        var dictionary: [String: Value] = [:]
        dictionary.reserveCapacity(map.count)
        for entry in map.entries {
            let key = entry.key.stringValue ?? entry.key.description
            dictionary[key] = try ValueDecoding.unbox(entry.value, as: Value.self, codingPath: codingPath + [ValueCodingKey(stringValue: key)],
                                                      options: options)
        }
        return dictionary
    }
}

// MARK: - Leaves

/// What a value is, for error messages: "a string", "an integer", ...
func kind(of value: Value) -> String {
    switch value {
    case .null: return "null"
    case .bool: return "a boolean"
    case .int, .uint: return "an integer"
    case .double: return "a float"
    case .string: return "a string"
    case .bytes: return "bytes"
    case .array: return "an array"
    case .map: return "a map"
    }
}

/// `valueNotFound` for null, `typeMismatch` for any other value that is not `wanted`.
func mismatch(_ type: Any.Type, _ value: Value, _ codingPath: [any CodingKey], wanted: String? = nil) -> DecodingError {
    let expected = wanted ?? "\(type)"
    if value.isNull {
        return DecodingError.valueNotFound(type, DecodingError.Context(
            codingPath: codingPath, debugDescription: "Expected \(expected) but found null."))
    }
    return DecodingError.typeMismatch(type, DecodingError.Context(
        codingPath: codingPath, debugDescription: "Expected \(expected) but found \(kind(of: value))."))
}

func unboxBool(_ value: Value, _ codingPath: [any CodingKey]) throws -> Bool {
    guard case .bool(let flag) = value else { throw mismatch(Bool.self, value, codingPath) }
    return flag
}

func unboxString(_ value: Value, _ codingPath: [any CodingKey]) throws -> String {
    guard case .string(let string) = value else { throw mismatch(String.self, value, codingPath) }
    return string
}

/// An integer of type `T`: from an integer in its range, or a float with an integral value in it.
func unboxInteger<T: FixedWidthInteger>(_ value: Value, _ type: T.Type, _ codingPath: [any CodingKey]) throws -> T {
    let number: T?
    switch value {
    case .int(let integer): number = T(exactly: integer)
    case .uint(let integer): number = T(exactly: integer)
    case .double(let float): number = T(exactly: float)
    default: throw mismatch(T.self, value, codingPath)
    }
    guard let number else {
        let text: String
        switch value {
        case .int(let integer): text = String(integer)
        case .uint(let integer): text = String(integer)
        case .double(let float): text = String(float)
        default: text = value.description
        }
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: codingPath, debugDescription: "Number \(text) does not fit in \(T.self)."))
    }
    return number
}

/// A float of type `T` from any number; one beyond `T`'s range is an error.
func unboxFloat<T: BinaryFloatingPoint>(_ value: Value, _ type: T.Type, _ codingPath: [any CodingKey]) throws -> T {
    let number: T
    switch value {
    case .double(let float):
        number = T(float)
        if number.isInfinite && float.isFinite {
            throw DecodingError.dataCorrupted(DecodingError.Context(
                codingPath: codingPath, debugDescription: "Number \(float) does not fit in \(T.self)."))
        }
    case .int(let integer): number = T(integer)
    case .uint(let integer): number = T(integer)
    default: throw mismatch(T.self, value, codingPath)
    }
    return number
}

/// `some_parameter` -> `someParameter`: JSONDecoder's `convertFromSnakeCase` (words after
/// the first capitalized, the first lower-cased; a key without inner underscores is kept as
/// it is; leading and trailing underscores are kept).
func camelCased(_ key: String) -> String {
    guard let first = key.firstIndex(where: { $0 != "_" }) else { return key }
    var last = key.index(before: key.endIndex)
    while last > first && key[last] == "_" { key.formIndex(before: &last) }
    let words = key[first...last].split(separator: "_")
    guard words.count > 1 else { return key }
    var result = String(key[..<first])
    result += words[0].lowercased()
    for word in words.dropFirst() {
        result += word.prefix(1).uppercased()
        result += word.dropFirst().lowercased()
    }
    result += key[key.index(after: last)...]
    return result
}
