// MARK: - Codable bridge

extension ValueMap {
    /// Decodes the kwargs into a `Decodable` type with ``ValueDecoder``: maps become structs,
    /// bytes decode as `[UInt8]` or `Data`.
    ///
    /// ```swift
    /// struct Parameters: Decodable { let someParameter: String }
    /// let parameters = try task.kwargs.decode(Parameters.self, keyDecodingStrategy: .convertFromSnakeCase)
    /// ```
    public func decode<T: Decodable>(_ type: T.Type = T.self,
                                     keyDecodingStrategy: ValueDecoder.KeyDecodingStrategy = .useDefaultKeys) throws -> T {
        try Value.map(self).decode(type, keyDecodingStrategy: keyDecodingStrategy)
    }
}

extension Value {
    /// Decodes this value into a `Decodable` type with ``ValueDecoder``.
    public func decode<T: Decodable>(_ type: T.Type = T.self,
                                     keyDecodingStrategy: ValueDecoder.KeyDecodingStrategy = .useDefaultKeys) throws -> T {
        try ValueDecoder(keyDecodingStrategy: keyDecodingStrategy).decode(type, from: self)
    }

    /// The value of an `Encodable` one (for `pushTask(kwargs:)`), with ``ValueEncoder``:
    /// structs become maps, `[UInt8]` and `Data` bytes.
    public init<T: Encodable>(encoding value: T, keyEncodingStrategy: ValueEncoder.KeyEncodingStrategy = .useDefaultKeys) throws {
        self = try ValueEncoder(keyEncodingStrategy: keyEncodingStrategy).encode(value)
    }
}

// MARK: - JSON text

extension Value {
    /// The value as JSON text: bytes as base64 strings, non-string keys as their description,
    /// non-finite floats as null.
    package var jsonText: String {
        var text = ""
        writeJSON(to: &text)
        return text
    }

    private func writeJSON(to text: inout String) {
        switch self {
        case .null: text += "null"
        case .bool(let flag): text += flag ? "true" : "false"
        case .int(let number): text += String(number)
        case .uint(let number): text += String(number)
        case .double(let number): text += number.isFinite ? String(number) : "null"
        case .string(let string): Value.writeJSONString(string, to: &text)
        case .bytes(let bytes): Value.writeJSONString(base64(bytes), to: &text)
        case .array(let values):
            text += "["
            for (index, element) in values.enumerated() {
                if index > 0 { text += "," }
                element.writeJSON(to: &text)
            }
            text += "]"
        case .map(let map):
            text += "{"
            for (index, entry) in map.entries.enumerated() {
                if index > 0 { text += "," }
                Value.writeJSONString(entry.key.stringValue ?? entry.key.description, to: &text)
                text += ":"
                entry.value.writeJSON(to: &text)
            }
            text += "}"
        }
    }

    private static func writeJSONString(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

/// Standard base64 with padding (RFC 4648), as `Data.base64EncodedString()`.
func base64(_ bytes: [UInt8]) -> String {
    let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    var output: [UInt8] = []
    output.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let count = min(3, bytes.count - index)
        var group = UInt32(bytes[index]) << 16
        if count > 1 { group |= UInt32(bytes[index + 1]) << 8 }
        if count > 2 { group |= UInt32(bytes[index + 2]) }
        for position in 0..<4 {
            output.append(position <= count ? alphabet[Int(group >> (18 - 6 * UInt32(position)) & 0x3f)] : UInt8(ascii: "="))
        }
        index += 3
    }
    return String(decoding: output, as: UTF8.self)
}
