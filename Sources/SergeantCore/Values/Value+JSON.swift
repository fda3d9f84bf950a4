// MARK: - JSON

extension Value {
    /// Parses JSON text into a value, keeping object keys in written order. Integers stay
    /// integers; numbers with a fraction or exponent become doubles.
    package init(json text: String) throws(JSONValueError) {
        var parser = JSONParser(bytes: Array(text.utf8))
        parser.skipSpace()
        self = try parser.value(depth: 0)
        parser.skipSpace()
        guard parser.offset == parser.bytes.count else { throw parser.error("unexpected text after the value") }
    }
}

/// JSON text that could not be parsed.
package struct JSONValueError: Error, Sendable, CustomStringConvertible {
    /// What was wrong and where.
    package let message: String

    /// `invalid JSON: <message>`.
    package var description: String { "invalid JSON: \(message)" }
}

private struct JSONParser {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    func error(_ message: String) -> JSONValueError {
        JSONValueError(message: "\(message) at offset \(offset)")
    }

    mutating func skipSpace() {
        while offset < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[offset]) { offset += 1 }
    }

    mutating func expect(_ literal: String, _ value: Value) throws(JSONValueError) -> Value {
        let expected = Array(literal.utf8)
        guard bytes.count - offset >= expected.count, Array(bytes[offset..<(offset + expected.count)]) == expected else {
            throw error("expected \(literal)")
        }
        offset += expected.count
        return value
    }

    mutating func value(depth: Int) throws(JSONValueError) -> Value {
        guard depth < MessagePack.maximumDepth else { throw error("nesting too deep") }
        guard offset < bytes.count else { throw error("unexpected end") }
        switch bytes[offset] {
        case UInt8(ascii: "{"):
            offset += 1
            var map = ValueMap()
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") { offset += 1; return .map(map) }
            while true {
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let key = try string()
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else { throw error("expected ':'") }
                offset += 1
                skipSpace()
                map.entries.append(ValueMap.Entry(key: .string(key), value: try value(depth: depth + 1)))
                skipSpace()
                guard offset < bytes.count else { throw error("unterminated object") }
                if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
                if bytes[offset] == UInt8(ascii: "}") { offset += 1; return .map(map) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            offset += 1
            var values: [Value] = []
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") { offset += 1; return .array(values) }
            while true {
                skipSpace()
                values.append(try value(depth: depth + 1))
                skipSpace()
                guard offset < bytes.count else { throw error("unterminated array") }
                if bytes[offset] == UInt8(ascii: ",") { offset += 1; continue }
                if bytes[offset] == UInt8(ascii: "]") { offset += 1; return .array(values) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try expect("true", .bool(true))
        case UInt8(ascii: "f"): return try expect("false", .bool(false))
        case UInt8(ascii: "n"): return try expect("null", .null)
        default:
            return try number()
        }
    }

    mutating func number() throws(JSONValueError) -> Value {
        let start = offset
        while offset < bytes.count, "+-0123456789.eE".utf8.contains(bytes[offset]) { offset += 1 }
        let text = String(decoding: bytes[start..<offset], as: UTF8.self)
        if let integer = Int64(text) { return .int(integer) }
        if let unsigned = UInt64(text) { return .uint(unsigned) }
        if !text.isEmpty, let double = Double(text) {
            guard double.isFinite else {
                offset = start
                throw error("the number \(text.prefix(40)) is too large for a 64-bit float (JSON has no infinity)")
            }
            return .double(double)
        }
        offset = start
        throw error("unexpected character")
    }

    mutating func string() throws(JSONValueError) -> String {
        offset += 1
        var scalars: [UInt8] = []
        while offset < bytes.count {
            let byte = bytes[offset]
            offset += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(decoding: scalars, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard offset < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[offset]
                offset += 1
                switch escape {
                case UInt8(ascii: "n"): scalars.append(0x0a)
                case UInt8(ascii: "t"): scalars.append(0x09)
                case UInt8(ascii: "r"): scalars.append(0x0d)
                case UInt8(ascii: "b"): scalars.append(0x08)
                case UInt8(ascii: "f"): scalars.append(0x0c)
                case UInt8(ascii: "u"):
                    var code = try hex4()
                    if (0xd800..<0xdc00).contains(code), bytes.count - offset >= 6,
                       bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u") {
                        offset += 2
                        let low = try hex4()
                        // A high surrogate followed by anything but a low one is no character
                        // (and `low - 0xdc00` would trap).
                        guard (0xdc00..<0xe000).contains(low) else {
                            throw error("invalid \\u escape: the surrogate \\u\(String(code, radix: 16)) is followed by"
                                + " \\u\(String(low, radix: 16)), not by a low surrogate (\\udc00 to \\udfff)")
                        }
                        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { throw error("invalid \\u escape") }
                    scalars.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: scalars.append(escape)
                }
            default:
                scalars.append(byte)
            }
        }
        throw error("unterminated string")
    }

    mutating func hex4() throws(JSONValueError) -> UInt32 {
        // Four hex digits exactly: UInt32(_:radix:) alone would take a sign ("\\u+041").
        guard bytes.count - offset >= 4, bytes[offset..<(offset + 4)].allSatisfy({ Character(Unicode.Scalar($0)).isHexDigit }),
              let code = UInt32(String(decoding: bytes[offset..<(offset + 4)], as: UTF8.self), radix: 16) else {
            throw error("invalid \\u escape")
        }
        offset += 4
        return code
    }
}
