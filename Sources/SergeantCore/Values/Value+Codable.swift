import FoundationEssentials

// MARK: - Codable bridge

extension ValueMap {
    /// Decodes the kwargs into a `Decodable` type, as if they were a JSON object: bytes
    /// become base64 strings (what `Data` decodes from), maps become objects.
    ///
    /// ```swift
    /// struct Parameters: Decodable { let someParameter: String }
    /// let parameters = try task.kwargs.decode(Parameters.self, keyDecodingStrategy: .convertFromSnakeCase)
    /// ```
    public func decode<T: Decodable>(_ type: T.Type = T.self,
                                     keyDecodingStrategy: JSONDecoder.KeyDecodingStrategy = .useDefaultKeys) throws -> T {
        try Value.map(self).decode(type, keyDecodingStrategy: keyDecodingStrategy)
    }
}

extension Value {
    /// Decodes this value into a `Decodable` type through its JSON form.
    public func decode<T: Decodable>(_ type: T.Type = T.self,
                                     keyDecodingStrategy: JSONDecoder.KeyDecodingStrategy = .useDefaultKeys) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = keyDecodingStrategy
        return try decoder.decode(type, from: Data(jsonText.utf8))
    }

    /// The value of an `Encodable` one (for `pushTask(kwargs:)`), through its JSON form.
    public init<T: Encodable>(encoding value: T, keyEncodingStrategy: JSONEncoder.KeyEncodingStrategy = .useDefaultKeys) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = keyEncodingStrategy
        let text = String(decoding: try encoder.encode(value), as: UTF8.self)
        self = try Value(json: text)
    }

    /// The value as JSON text: bytes as base64 strings, non-string keys as their description,
    /// non-finite floats as null.
    public var jsonText: String {
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
        case .bytes(let bytes): Value.writeJSONString(Data(bytes).base64EncodedString(), to: &text)
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
