// MARK: - ValueEncoder

/// Encodes an `Encodable` value into a ``Value`` directly, without JSON and without
/// Foundation: structs and dictionaries become maps (in encoding order), arrays become
/// arrays, integers `.int` (or `.uint` above `Int64.max`), floating point numbers `.double`.
///
/// `[UInt8]`, `ContiguousArray<UInt8>` and `Data` (any type that encodes its bytes with
/// `encode(contentsOf:)` into an empty unkeyed container) become `.bytes`, which msgpack
/// carries as `bin` and Python reads as `bytes`.
///
/// Types that JSONEncoder formats specially encode as their own `encode(to:)` says: `Date`
/// as its `timeIntervalSinceReferenceDate`, `URL` as a map, `Decimal` as a map.
///
/// ```swift
/// let kwargs = try ValueEncoder(keyEncodingStrategy: .convertToSnakeCase).encode(parameters)
/// ```
public struct ValueEncoder: Sendable {
    /// How property names become map keys.
    public enum KeyEncodingStrategy: Sendable, Hashable {
        /// The keys the type's `CodingKeys` give.
        case useDefaultKeys
        /// camelCase keys become snake_case (`someParameter` -> `some_parameter`,
        /// `myURLValue` -> `my_url_value`), as JSONEncoder's strategy of that name. The keys
        /// of `[String: V]` dictionaries are data and stay as they are.
        case convertToSnakeCase
    }

    /// How property names become map keys.
    public var keyEncodingStrategy: KeyEncodingStrategy
    /// Given to the types encoded as `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable]

    /// Creates an encoder.
    public init(keyEncodingStrategy: KeyEncodingStrategy = .useDefaultKeys, userInfo: [CodingUserInfoKey: any Sendable] = [:]) {
        self.keyEncodingStrategy = keyEncodingStrategy
        self.userInfo = userInfo
    }

    /// The value of `value`. Throws `EncodingError.invalidValue` when it encodes nothing,
    /// and whatever its `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> Value {
        let options = EncodingOptions(keyStrategy: keyEncodingStrategy, userInfo: userInfo)
        let slot = try EncodingNode.box(value, codingPath: [], options: options)
        if case .node(let node) = slot, node.isEmpty {
            throw EncodingError.invalidValue(value, EncodingError.Context(
                codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return slot.value
    }
}

// MARK: - Encoding tree

/// What the encoder of one value was given, shared by every nested encoder.
final class EncodingOptions {
    let keyStrategy: ValueEncoder.KeyEncodingStrategy
    let userInfo: [CodingUserInfoKey: Any]

    init(keyStrategy: ValueEncoder.KeyEncodingStrategy, userInfo: [CodingUserInfoKey: any Sendable]) {
        self.keyStrategy = keyStrategy
        self.userInfo = userInfo
    }

    /// The map key for a coding key.
    func key(_ key: some CodingKey) -> String {
        switch keyStrategy {
        case .useDefaultKeys: return key.stringValue
        case .convertToSnakeCase: return snakeCased(key.stringValue)
        }
    }
}

/// One element of a map or an array being encoded: a finished value, or a node that
/// nested containers and super encoders may still fill.
enum EncodedSlot {
    case value(Value)
    case node(EncodingNode)

    var value: Value {
        switch self {
        case .value(let value): return value
        case .node(let node): return node.value
        }
    }
}

/// A value under construction. Containers hold a reference to their node, so a nested
/// container or a super encoder can be filled after its parent moved on.
final class EncodingNode {
    enum Kind {
        /// Nothing was encoded yet.
        case empty
        /// One value through a single value container.
        case single
        /// A map through a keyed container.
        case keyed
        /// An array through an unkeyed container.
        case unkeyed
    }

    private(set) var kind = Kind.empty
    private var single = EncodedSlot.value(.null)
    /// Map keys (keyed) in encoding order, matching `slots`.
    private var keys: [String] = []
    /// Map values (keyed) or array elements (unkeyed).
    private var slots: [EncodedSlot] = []
    /// Positions of the keys, once a map is large enough for linear look-ups to hurt.
    private var positions: [String: Int]?
    /// The elements (unkeyed) while they are only bytes given to `encode(contentsOf:)`, as
    /// `Data` gives them.
    private var bytes: [UInt8]?

    var isEmpty: Bool { kind == .empty }
    var count: Int { bytes?.count ?? slots.count }

    /// The finished value. A node nothing was encoded into is an empty map, as JSONEncoder
    /// gives `{}`.
    var value: Value {
        switch kind {
        case .empty: return .map(ValueMap())
        case .single: return single.value
        case .keyed:
            var entries: [ValueMap.Entry] = []
            entries.reserveCapacity(keys.count)
            for (key, slot) in zip(keys, slots) { entries.append(ValueMap.Entry(key: .string(key), value: slot.value)) }
            return .map(ValueMap(entries))
        case .unkeyed: return bytes.map(Value.bytes) ?? .array(slots.map(\.value))
        }
    }

    /// Makes this node a map, or checks that it is one (a class and its superclass may both
    /// ask for a keyed container of the same encoder).
    func becomeKeyed() {
        switch kind {
        case .empty: kind = .keyed
        case .keyed: break
        case .single, .unkeyed: preconditionFailure("a keyed container was asked for where a value or an unkeyed container was already encoded")
        }
    }

    /// Makes this node an array, or checks that it is one.
    func becomeUnkeyed() {
        switch kind {
        case .empty: kind = .unkeyed
        case .unkeyed: break
        case .single, .keyed: preconditionFailure("an unkeyed container was asked for where a value or a keyed container was already encoded")
        }
    }

    /// Sets the single value of this node.
    func setSingle(_ slot: EncodedSlot) {
        precondition(kind == .empty, "a value was encoded twice through a single value container, or into an encoder that already holds a container")
        kind = .single
        single = slot
    }

    /// Sets the value under `key`; a key encoded again keeps its place and takes the new value.
    func set(_ slot: EncodedSlot, forKey key: String) {
        if let position = position(of: key) {
            slots[position] = slot
            return
        }
        keys.append(key)
        slots.append(slot)
        if positions != nil {
            positions![key] = keys.count - 1
        } else if keys.count == 16 {
            var positions: [String: Int] = [:]
            for (index, key) in keys.enumerated() where positions[key] == nil { positions[key] = index }
            self.positions = positions
        }
    }

    private func position(of key: String) -> Int? {
        if let positions { return positions[key] }
        return keys.firstIndex(of: key)
    }

    /// Appends an array element.
    func append(_ slot: EncodedSlot) {
        if let bytes {
            // Bytes followed by other elements: an array of numbers after all.
            slots = bytes.map { .value(.int(Int64($0))) }
            self.bytes = nil
        }
        slots.append(slot)
    }

    /// Appends the elements of a byte sequence: into `.bytes` when the array holds nothing
    /// else, as numbers otherwise.
    func append(bytes sequence: some Sequence<UInt8>) {
        if slots.isEmpty {
            bytes = (bytes ?? []) + sequence
        } else {
            for byte in sequence { slots.append(.value(.int(Int64(byte)))) }
        }
    }

    /// The value of `value` at `codingPath`: primitives and byte collections directly, other
    /// types through their `encode(to:)`.
    static func box<T: Encodable>(_ value: T, codingPath: [any CodingKey], options: EncodingOptions) throws -> EncodedSlot {
        // Exact types only: a conformance check (say, to a collection of bytes) would also
        // catch types with a Codable form of their own, such as Range<UInt8>.
        if T.self == String.self { return .value(.string(value as! String)) }
        if T.self == Int.self { return .value(.int(Int64(value as! Int))) }
        if T.self == Double.self { return .value(.double(value as! Double)) }
        if T.self == Bool.self { return .value(.bool(value as! Bool)) }
        if T.self == [UInt8].self { return .value(.bytes(value as! [UInt8])) }
        if T.self == ContiguousArray<UInt8>.self { return .value(.bytes(Array(value as! ContiguousArray<UInt8>))) }
        if options.keyStrategy != .useDefaultKeys, let dictionary = value as? any StringKeyedDictionary {
            return try dictionary.encodeEntries(codingPath: codingPath, options: options)
        }
        let encoder = ValueEncoding(codingPath: codingPath, options: options)
        try value.encode(to: encoder)
        // A type that encoded one primitive through a single value container: no node needed.
        return encoder.node.finishedSlot
    }

    /// This node as a slot: its single value when it holds a finished one.
    var finishedSlot: EncodedSlot {
        if kind == .single, case .value = single { return single }
        return .node(self)
    }
}

// MARK: - Encoder

/// The `Encoder` of one value.
struct ValueEncoding: Encoder {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    let options: EncodingOptions
    var userInfo: [CodingUserInfoKey: Any] { options.userInfo }

    init(node: EncodingNode = EncodingNode(), codingPath: [any CodingKey], options: EncodingOptions) {
        self.node = node
        self.codingPath = codingPath
        self.options = options
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        node.becomeKeyed()
        return KeyedEncodingContainer(ValueKeyedEncodingContainer<Key>(node: node, codingPath: codingPath, options: options))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        node.becomeUnkeyed()
        return ValueUnkeyedEncodingContainer(node: node, codingPath: codingPath, options: options)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        self
    }
}

extension ValueEncoding: SingleValueEncodingContainer {
    func encodeNil() throws { node.setSingle(.value(.null)) }
    func encode(_ value: Bool) throws { node.setSingle(.value(.bool(value))) }
    func encode(_ value: String) throws { node.setSingle(.value(.string(value))) }
    func encode(_ value: Double) throws { node.setSingle(.value(.double(value))) }
    func encode(_ value: Float) throws { node.setSingle(.value(.double(Double(value)))) }
    func encode(_ value: Int) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: Int8) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: Int16) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: Int32) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: Int64) throws { node.setSingle(.value(.int(value))) }
    func encode(_ value: UInt) throws { node.setSingle(.value(Value(unsigned: UInt64(value)))) }
    func encode(_ value: UInt8) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: UInt16) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: UInt32) throws { node.setSingle(.value(.int(Int64(value)))) }
    func encode(_ value: UInt64) throws { node.setSingle(.value(Value(unsigned: value))) }

    func encode<T: Encodable>(_ value: T) throws {
        node.setSingle(try EncodingNode.box(value, codingPath: codingPath, options: options))
    }
}

// MARK: - Helpers

/// `[String: V]`: its keys are data, not property names, so a key strategy leaves them as
/// they are (as JSONEncoder does).
protocol StringKeyedDictionary {
    func encodeEntries(codingPath: [any CodingKey], options: EncodingOptions) throws -> EncodedSlot
}

extension Dictionary: StringKeyedDictionary where Key == String, Value: Encodable {
    func encodeEntries(codingPath: [any CodingKey], options: EncodingOptions) throws -> EncodedSlot {
        let node = EncodingNode()
        node.becomeKeyed()
        for (key, value) in self {
            node.set(try EncodingNode.box(value, codingPath: codingPath + [ValueCodingKey(stringValue: key)], options: options), forKey: key)
        }
        return .node(node)
    }
}

/// The coding keys the encoder and decoder make themselves: array positions and `super`.
struct ValueCodingKey: CodingKey {
    let stringValue: String
    let intValue: Int?

    init(stringValue: String) {
        self.stringValue = stringValue
        intValue = nil
    }

    init(intValue: Int) {
        stringValue = "Index \(intValue)"
        self.intValue = intValue
    }

    init(index: Int) {
        self.init(intValue: index)
    }

    /// The key of `superEncoder()` and `superDecoder()`.
    static let `super` = ValueCodingKey(stringValue: "super")
}

extension Value {
    /// An unsigned integer: `.int` when it fits in `Int64`, as msgpack decoding gives it.
    init(unsigned number: UInt64) {
        self = number <= UInt64(Int64.max) ? .int(Int64(number)) : .uint(number)
    }
}

/// `someParameter` -> `some_parameter`, `myURLValue` -> `my_url_value`: JSONEncoder's
/// `convertToSnakeCase` (words split where lower case turns to upper case, and before the
/// last capital of a run of capitals followed by lower case; all lower-cased).
func snakeCased(_ key: String) -> String {
    guard !key.isEmpty else { return key }
    var words: [Range<String.Index>] = []
    var wordStart = key.startIndex
    var searchRange = key.index(after: wordStart)..<key.endIndex
    while let upper = key[searchRange].firstIndex(where: \.isUppercase) {
        words.append(wordStart..<upper)
        searchRange = upper..<searchRange.upperBound
        guard let lower = key[searchRange].firstIndex(where: { !$0.isUppercase }) else {
            // Only capitals left: they are the last word.
            wordStart = searchRange.lowerBound
            break
        }
        if lower == key.index(after: upper) {
            // One capital then lower case: a word that goes on to the next capital.
            wordStart = upper
        } else {
            // A run of capitals is a word of its own, up to the capital before the lower case.
            let beforeLower = key.index(before: lower)
            words.append(upper..<beforeLower)
            wordStart = beforeLower
        }
        searchRange = lower..<searchRange.upperBound
    }
    words.append(wordStart..<searchRange.upperBound)
    return words.map { key[$0].lowercased() }.joined(separator: "_")
}
