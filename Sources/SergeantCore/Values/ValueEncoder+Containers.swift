// MARK: - Containers

struct ValueKeyedEncodingContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    let options: EncodingOptions

    private func set(_ value: Value, _ key: Key) {
        node.set(.value(value), forKey: options.key(key))
    }

    func encodeNil(forKey key: Key) throws { set(.null, key) }
    func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), key) }
    func encode(_ value: String, forKey key: Key) throws { set(.string(value), key) }
    func encode(_ value: Double, forKey key: Key) throws { set(.double(value), key) }
    func encode(_ value: Float, forKey key: Key) throws { set(.double(Double(value)), key) }
    func encode(_ value: Int, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: Int64, forKey key: Key) throws { set(.int(value), key) }
    func encode(_ value: UInt, forKey key: Key) throws { set(Value(unsigned: UInt64(value)), key) }
    func encode(_ value: UInt8, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt16, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt32, forKey key: Key) throws { set(.int(Int64(value)), key) }
    func encode(_ value: UInt64, forKey key: Key) throws { set(Value(unsigned: value), key) }

    func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        node.set(try EncodingNode.box(value, codingPath: codingPath + [key], options: options), forKey: options.key(key))
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
        let child = EncodingNode()
        child.becomeKeyed()
        node.set(.node(child), forKey: options.key(key))
        return KeyedEncodingContainer(ValueKeyedEncodingContainer<NestedKey>(node: child, codingPath: codingPath + [key], options: options))
    }

    func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let child = EncodingNode()
        child.becomeUnkeyed()
        node.set(.node(child), forKey: options.key(key))
        return ValueUnkeyedEncodingContainer(node: child, codingPath: codingPath + [key], options: options)
    }

    func superEncoder() -> any Encoder {
        superEncoder(at: ValueCodingKey.super)
    }

    func superEncoder(forKey key: Key) -> any Encoder {
        superEncoder(at: key)
    }

    private func superEncoder(at key: some CodingKey) -> any Encoder {
        let child = EncodingNode()
        node.set(.node(child), forKey: options.key(key))
        return ValueEncoding(node: child, codingPath: codingPath + [key], options: options)
    }
}

struct ValueUnkeyedEncodingContainer: UnkeyedEncodingContainer {
    let node: EncodingNode
    let codingPath: [any CodingKey]
    let options: EncodingOptions
    var count: Int { node.count }

    private func append(_ value: Value) {
        node.append(.value(value))
    }

    func encodeNil() throws { append(.null) }
    func encode(_ value: Bool) throws { append(.bool(value)) }
    func encode(_ value: String) throws { append(.string(value)) }
    func encode(_ value: Double) throws { append(.double(value)) }
    func encode(_ value: Float) throws { append(.double(Double(value))) }
    func encode(_ value: Int) throws { append(.int(Int64(value))) }
    func encode(_ value: Int8) throws { append(.int(Int64(value))) }
    func encode(_ value: Int16) throws { append(.int(Int64(value))) }
    func encode(_ value: Int32) throws { append(.int(Int64(value))) }
    func encode(_ value: Int64) throws { append(.int(value)) }
    func encode(_ value: UInt) throws { append(Value(unsigned: UInt64(value))) }
    func encode(_ value: UInt8) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt16) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt32) throws { append(.int(Int64(value))) }
    func encode(_ value: UInt64) throws { append(Value(unsigned: value)) }

    func encode<T: Encodable>(_ value: T) throws {
        node.append(try EncodingNode.box(value, codingPath: codingPath + [ValueCodingKey(index: count)], options: options))
    }

    /// Bytes, as `Data` encodes them: `.bytes` when the array holds nothing else.
    func encode<T: Sequence>(contentsOf sequence: T) throws where T.Element == UInt8 {
        node.append(bytes: sequence)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let path = codingPath + [ValueCodingKey(index: count)]
        let child = EncodingNode()
        child.becomeKeyed()
        node.append(.node(child))
        return KeyedEncodingContainer(ValueKeyedEncodingContainer<NestedKey>(node: child, codingPath: path, options: options))
    }

    func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let path = codingPath + [ValueCodingKey(index: count)]
        let child = EncodingNode()
        child.becomeUnkeyed()
        node.append(.node(child))
        return ValueUnkeyedEncodingContainer(node: child, codingPath: path, options: options)
    }

    func superEncoder() -> any Encoder {
        let path = codingPath + [ValueCodingKey(index: count)]
        let child = EncodingNode()
        node.append(.node(child))
        return ValueEncoding(node: child, codingPath: path, options: options)
    }
}

