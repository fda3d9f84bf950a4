// MARK: - Keyed container

struct ValueKeyedDecodingContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let codingPath: [any CodingKey]
    let options: DecodingOptions
    /// The map's keys as matched (converted by the key strategy), and their values.
    private let keys: [String]
    private let values: [Value]
    /// Positions of the keys, for maps large enough for linear look-ups to hurt.
    private let positions: [String: Int]?

    init(map: ValueMap, codingPath: [any CodingKey], options: DecodingOptions) {
        self.codingPath = codingPath
        self.options = options
        var keys: [String] = []
        var values: [Value] = []
        keys.reserveCapacity(map.count)
        values.reserveCapacity(map.count)
        for entry in map.entries {
            let key = entry.key.stringValue ?? entry.key.description
            switch options.keyStrategy {
            case .useDefaultKeys: keys.append(key)
            case .convertFromSnakeCase: keys.append(camelCased(key))
            }
            values.append(entry.value)
        }
        if keys.count > 16 {
            var positions: [String: Int] = [:]
            for (index, key) in keys.enumerated() where positions[key] == nil { positions[key] = index }
            self.positions = positions
        } else {
            positions = nil
        }
        self.keys = keys
        self.values = values
    }

    var allKeys: [Key] { keys.compactMap { Key(stringValue: $0) } }

    func contains(_ key: Key) -> Bool { position(of: key) != nil }

    private func position(of key: Key) -> Int? {
        if let positions { return positions[key.stringValue] }
        return keys.firstIndex(of: key.stringValue)
    }

    private func value(_ key: Key) throws -> Value {
        guard let position = position(of: key) else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath, debugDescription: "No value for key '\(key.stringValue)'\(keyStrategyNote)."))
        }
        return values[position]
    }

    /// What a missing key message adds when keys were converted.
    private var keyStrategyNote: String {
        options.keyStrategy == .convertFromSnakeCase ? " (map keys were converted from snake_case)" : ""
    }

    private func decoder(_ key: Key) throws -> ValueDecoding {
        ValueDecoding(value: try value(key), codingPath: codingPath + [key], options: options)
    }

    func decodeNil(forKey key: Key) throws -> Bool { try value(key).isNull }
    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try unboxBool(value(key), codingPath + [key]) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try unboxString(value(key), codingPath + [key]) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try unboxFloat(value(key), Double.self, codingPath + [key]) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try unboxFloat(value(key), Float.self, codingPath + [key]) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try unboxInteger(value(key), Int.self, codingPath + [key]) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try unboxInteger(value(key), Int8.self, codingPath + [key]) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try unboxInteger(value(key), Int16.self, codingPath + [key]) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try unboxInteger(value(key), Int32.self, codingPath + [key]) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try unboxInteger(value(key), Int64.self, codingPath + [key]) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try unboxInteger(value(key), UInt.self, codingPath + [key]) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try unboxInteger(value(key), UInt8.self, codingPath + [key]) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try unboxInteger(value(key), UInt16.self, codingPath + [key]) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try unboxInteger(value(key), UInt32.self, codingPath + [key]) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try unboxInteger(value(key), UInt64.self, codingPath + [key]) }

    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
        try ValueDecoding.unbox(value(key), as: T.self, codingPath: codingPath + [key], options: options)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
        try decoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try decoder(key).unkeyedContainer()
    }

    /// The decoder of the value under `super`; null when there is none (as JSONDecoder).
    func superDecoder() throws -> any Decoder {
        let key = ValueCodingKey.super
        let position = positions.map { $0[key.stringValue] } ?? keys.firstIndex(of: key.stringValue)
        return ValueDecoding(value: position.map { values[$0] } ?? .null, codingPath: codingPath + [key], options: options)
    }

    /// The decoder of the value under `key`; null when there is none (as JSONDecoder).
    func superDecoder(forKey key: Key) throws -> any Decoder {
        ValueDecoding(value: position(of: key).map { values[$0] } ?? .null, codingPath: codingPath + [key], options: options)
    }
}

// MARK: - Unkeyed container

struct ValueUnkeyedDecodingContainer: UnkeyedDecodingContainer {
    /// The elements: values, or bytes read as `UInt8` numbers.
    enum Elements {
        case values([Value])
        case bytes([UInt8])
    }

    let elements: Elements
    let codingPath: [any CodingKey]
    let options: DecodingOptions
    private(set) var currentIndex = 0

    init(elements: Elements, codingPath: [any CodingKey], options: DecodingOptions) {
        self.elements = elements
        self.codingPath = codingPath
        self.options = options
    }

    var count: Int? {
        switch elements {
        case .values(let values): return values.count
        case .bytes(let bytes): return bytes.count
        }
    }

    var isAtEnd: Bool { currentIndex >= count! }

    /// The path of the current element.
    private var elementPath: [any CodingKey] { codingPath + [ValueCodingKey(index: currentIndex)] }

    /// The current element; throws `valueNotFound` past the end.
    private func current<T>(_ type: T.Type) throws -> Value {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: elementPath, debugDescription: "Expected \(type) but the array has only \(count!) element(s)."))
        }
        switch elements {
        case .values(let values): return values[currentIndex]
        case .bytes(let bytes): return .int(Int64(bytes[currentIndex]))
        }
    }

    /// Decodes the current element with `body` and moves past it.
    private mutating func next<T>(_ type: T.Type, _ body: (Value, [any CodingKey]) throws -> T) throws -> T {
        let result = try body(try current(type), elementPath)
        currentIndex += 1
        return result
    }

    mutating func decodeNil() throws -> Bool {
        guard try current(Any?.self).isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try unboxBool($0, $1) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try unboxString($0, $1) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try unboxFloat($0, type, $1) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try unboxFloat($0, type, $1) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try unboxInteger($0, type, $1) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try unboxInteger($0, type, $1) } }

    mutating func decode(_ type: UInt8.Type) throws -> UInt8 {
        // Bytes need no conversion.
        if case .bytes(let bytes) = elements, currentIndex < bytes.count {
            defer { currentIndex += 1 }
            return bytes[currentIndex]
        }
        return try next(type) { try unboxInteger($0, type, $1) }
    }

    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
        let options = options
        return try next(type) { value, path in
            try ValueDecoding.unbox(value, as: type, codingPath: path, options: options)
        }
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        let options = options
        return try next(KeyedDecodingContainer<NestedKey>.self) { value, path in
            try ValueDecoding(value: value, codingPath: path, options: options).container(keyedBy: type)
        }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let options = options
        return try next((any UnkeyedDecodingContainer).self) { value, path in
            try ValueDecoding(value: value, codingPath: path, options: options).unkeyedContainer()
        }
    }

    mutating func superDecoder() throws -> any Decoder {
        let options = options
        return try next((any Decoder).self) { value, path in ValueDecoding(value: value, codingPath: path, options: options) }
    }
}
