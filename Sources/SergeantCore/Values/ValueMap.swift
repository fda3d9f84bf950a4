// MARK: - ValueMap

/// An insertion-ordered map of ``Value`` keys to values: msgpack maps keep their order.
///
/// Lookups are linear, which is the fastest choice for the handful of kwargs a task carries.
public struct ValueMap: Sendable, Hashable {
    /// One key and its value.
    public struct Entry: Sendable, Hashable {
        /// The key (a string in every map sergeant writes).
        public var key: Value
        /// The value.
        public var value: Value

        /// Creates an entry.
        public init(key: Value, value: Value) {
            self.key = key
            self.value = value
        }
    }

    /// The entries, in order.
    public var entries: [Entry]

    /// Creates a map from ordered entries.
    public init(_ entries: [Entry] = []) {
        self.entries = entries
    }

    /// The number of entries.
    public var count: Int { entries.count }

    /// The string keys, in order.
    public var keys: [String] { entries.compactMap(\.key.stringValue) }

    /// The value under `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> Value? {
        get { self[.string(key)] }
        set { self[.string(key)] = newValue }
    }

    /// The value under any key; setting `nil` removes it, setting a new key appends it.
    public subscript(key: Value) -> Value? {
        get {
            for entry in entries where entry.key == key { return entry.value }
            return nil
        }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }
}

extension ValueMap: CustomStringConvertible {
    /// A Python-like rendering: `{'some_parameter': 'one'}`.
    public var description: String { Value.map(self).description }
}

extension ValueMap: ExpressibleByDictionaryLiteral {
    /// A map literal with string keys, in written order.
    public init(dictionaryLiteral elements: (String, Value)...) {
        self.init(elements.map { Entry(key: .string($0.0), value: $0.1) })
    }
}
