// MARK: - MessagePack

/// msgpack as Python's `msgpack` package writes it with `use_bin_type=True`: the smallest
/// integer form, float64 for floats, str8 for short strings, bin for bytes. Encoding a
/// ``Value`` that was decoded from Python's bytes gives those bytes back.
public enum MessagePack {
    /// Nesting deeper than this is refused when decoding (hostile input).
    public static let maximumDepth = 512

    /// Encodes a value.
    public static func encode(_ value: Value) -> [UInt8] {
        var writer = Writer()
        writer.write(value)
        return writer.bytes
    }

    /// Decodes exactly one value that spans all of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(MessagePackError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MessagePackError) -> Value in
            try decode(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Decodes exactly one value that spans all of `buffer`.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(MessagePackError) -> Value {
        var reader = Reader(buffer: buffer)
        let value = try reader.read(depth: 0)
        guard reader.offset == buffer.count else {
            throw MessagePackError("\(buffer.count - reader.offset) trailing bytes after the value")
        }
        return value
    }

    // MARK: Writer

    /// Appends msgpack encodings to a byte buffer.
    public struct Writer: Sendable {
        /// The bytes written so far.
        public private(set) var bytes: [UInt8] = []

        /// Creates an empty writer with room for `capacity` bytes.
        public init(capacity: Int = 128) {
            bytes.reserveCapacity(capacity)
        }

        /// Appends one value.
        public mutating func write(_ value: Value) {
            switch value {
            case .null: bytes.append(0xc0)
            case .bool(let flag): bytes.append(flag ? 0xc3 : 0xc2)
            case .int(let number): write(int: number)
            case .uint(let number): write(uint: number)
            case .double(let number):
                bytes.append(0xcb)
                append(number.bitPattern, count: 8)
            case .string(let string): write(string: string)
            case .bytes(let data):
                writeHeader(count: data.count, small: nil, codes: (0xc4, 0xc5, 0xc6))
                bytes.append(contentsOf: data)
            case .array(let values):
                writeHeader(count: values.count, small: (0x90, 16), codes: (nil, 0xdc, 0xdd))
                for element in values { write(element) }
            case .map(let map):
                writeMapHeader(count: map.count)
                for entry in map.entries {
                    write(entry.key)
                    write(entry.value)
                }
            }
        }

        /// Appends a map header for `count` entries; the caller writes key, value pairs.
        public mutating func writeMapHeader(count: Int) {
            writeHeader(count: count, small: (0x80, 16), codes: (nil, 0xde, 0xdf))
        }

        /// Appends a string.
        public mutating func write(string: String) {
            var string = string
            string.withUTF8 { utf8 in
                writeHeader(count: utf8.count, small: (0xa0, 32), codes: (0xd9, 0xda, 0xdb))
                bytes.append(contentsOf: utf8)
            }
        }

        /// Appends an optional string (nil when absent).
        public mutating func write(string: String?) {
            if let string { write(string: string) } else { bytes.append(0xc0) }
        }

        /// Appends a signed integer in its smallest form, as Python's msgpack does.
        public mutating func write(int number: Int64) {
            if number >= 0 { return write(uint: UInt64(number)) }
            switch number {
            case -32..<0: bytes.append(UInt8(bitPattern: Int8(number)))
            case Int64(Int8.min)..<0: bytes.append(0xd0); append(UInt64(bitPattern: number), count: 1)
            case Int64(Int16.min)..<0: bytes.append(0xd1); append(UInt64(bitPattern: number), count: 2)
            case Int64(Int32.min)..<0: bytes.append(0xd2); append(UInt64(bitPattern: number), count: 4)
            default: bytes.append(0xd3); append(UInt64(bitPattern: number), count: 8)
            }
        }

        /// Appends an unsigned integer in its smallest form.
        public mutating func write(uint number: UInt64) {
            switch number {
            case 0..<128: bytes.append(UInt8(number))
            case 0...UInt64(UInt8.max): bytes.append(0xcc); append(number, count: 1)
            case 0...UInt64(UInt16.max): bytes.append(0xcd); append(number, count: 2)
            case 0...UInt64(UInt32.max): bytes.append(0xce); append(number, count: 4)
            default: bytes.append(0xcf); append(number, count: 8)
            }
        }

        /// Appends a float64.
        public mutating func write(double number: Double) {
            bytes.append(0xcb)
            append(number.bitPattern, count: 8)
        }

        /// Appends bytes that already are one encoded msgpack value.
        public mutating func write(encoded: some Sequence<UInt8>) {
            bytes.append(contentsOf: encoded)
        }

        private mutating func writeHeader(count: Int, small: (base: UInt8, limit: Int)?,
                                          codes: (UInt8?, UInt8, UInt8)) {
            if let small, count < small.limit {
                bytes.append(small.base | UInt8(count))
            } else if let code8 = codes.0, count <= 0xff {
                bytes.append(code8); append(UInt64(count), count: 1)
            } else if count <= 0xffff {
                bytes.append(codes.1); append(UInt64(count), count: 2)
            } else {
                bytes.append(codes.2); append(UInt64(count), count: 4)
            }
        }

        private mutating func append(_ number: UInt64, count: Int) {
            var shift = (count - 1) * 8
            while shift >= 0 {
                bytes.append(UInt8(truncatingIfNeeded: number >> UInt64(shift)))
                shift -= 8
            }
        }
    }

    // MARK: Reader

    /// Reads msgpack values from a borrowed buffer, checking every length against it.
    public struct Reader {
        /// The buffer being read.
        public let buffer: UnsafeRawBufferPointer
        /// Position of the next byte to read.
        public private(set) var offset = 0

        /// Creates a reader at the start of `buffer`.
        public init(buffer: UnsafeRawBufferPointer) {
            self.buffer = buffer
        }

        /// Reads one complete value.
        public mutating func read(depth: Int = 0) throws(MessagePackError) -> Value {
            guard depth <= MessagePack.maximumDepth else {
                throw MessagePackError("nesting deeper than \(MessagePack.maximumDepth) levels")
            }
            let code = try byte()
            switch code {
            case 0x00...0x7f: return .int(Int64(code))
            case 0x80...0x8f: return try readMap(count: Int(code & 0x0f), depth: depth)
            case 0x90...0x9f: return try readArray(count: Int(code & 0x0f), depth: depth)
            case 0xa0...0xbf: return .string(try string(count: Int(code & 0x1f)))
            case 0xc0: return .null
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xc4: return .bytes(try raw(count: Int(try number(1))))
            case 0xc5: return .bytes(try raw(count: Int(try number(2))))
            case 0xc6: return .bytes(try raw(count: Int(try number(4))))
            case 0xc7, 0xc8, 0xc9, 0xd4...0xd8:
                throw MessagePackError("msgpack extension type 0x\(String(code, radix: 16)) is not supported")
            case 0xca: return .double(Double(Float(bitPattern: UInt32(try number(4)))))
            case 0xcb: return .double(Double(bitPattern: try number(8)))
            case 0xcc: return .int(Int64(try number(1)))
            case 0xcd: return .int(Int64(try number(2)))
            case 0xce: return .int(Int64(try number(4)))
            case 0xcf:
                let value = try number(8)
                return value <= UInt64(Int64.max) ? .int(Int64(value)) : .uint(value)
            case 0xd0: return .int(Int64(Int8(truncatingIfNeeded: try number(1))))
            case 0xd1: return .int(Int64(Int16(truncatingIfNeeded: try number(2))))
            case 0xd2: return .int(Int64(Int32(truncatingIfNeeded: try number(4))))
            case 0xd3: return .int(Int64(bitPattern: try number(8)))
            case 0xd9: return .string(try string(count: Int(try number(1))))
            case 0xda: return .string(try string(count: Int(try number(2))))
            case 0xdb: return .string(try string(count: Int(try number(4))))
            case 0xdc: return try readArray(count: Int(try number(2)), depth: depth)
            case 0xdd: return try readArray(count: Int(try number(4)), depth: depth)
            case 0xde: return try readMap(count: Int(try number(2)), depth: depth)
            case 0xdf: return try readMap(count: Int(try number(4)), depth: depth)
            case 0xe0...0xff: return .int(Int64(Int8(bitPattern: code)))
            default: throw MessagePackError("invalid msgpack type byte 0xc1 at offset \(offset - 1)")
            }
        }

        private mutating func readArray(count: Int, depth: Int) throws(MessagePackError) -> Value {
            // Every element takes at least one byte: a count larger than what is left is a lie.
            guard count <= buffer.count - offset else { throw truncated(count) }
            var values: [Value] = []
            values.reserveCapacity(count)
            for _ in 0..<count { values.append(try read(depth: depth + 1)) }
            return .array(values)
        }

        private mutating func readMap(count: Int, depth: Int) throws(MessagePackError) -> Value {
            guard count <= (buffer.count - offset) / 2 else { throw truncated(count * 2) }
            var entries: [ValueMap.Entry] = []
            entries.reserveCapacity(count)
            for _ in 0..<count {
                let key = try read(depth: depth + 1)
                entries.append(ValueMap.Entry(key: key, value: try read(depth: depth + 1)))
            }
            return .map(ValueMap(entries))
        }

        private mutating func byte() throws(MessagePackError) -> UInt8 {
            guard offset < buffer.count else { throw truncated(1) }
            defer { offset += 1 }
            return buffer[offset]
        }

        private mutating func number(_ count: Int) throws(MessagePackError) -> UInt64 {
            guard buffer.count - offset >= count else { throw truncated(count) }
            var value: UInt64 = 0
            for index in offset..<(offset + count) { value = value << 8 | UInt64(buffer[index]) }
            offset += count
            return value
        }

        private mutating func raw(count: Int) throws(MessagePackError) -> [UInt8] {
            guard buffer.count - offset >= count else { throw truncated(count) }
            defer { offset += count }
            return Array(buffer[offset..<(offset + count)])
        }

        private mutating func string(count: Int) throws(MessagePackError) -> String {
            guard buffer.count - offset >= count else { throw truncated(count) }
            let slice = UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
            guard let string = String(validating: slice, as: UTF8.self) else {
                throw MessagePackError("invalid UTF-8 in a string at offset \(offset)")
            }
            offset += count
            return string
        }

        private func truncated(_ needed: Int) -> MessagePackError {
            MessagePackError("truncated: \(needed) more bytes needed at offset \(offset) of \(buffer.count)")
        }
    }
}

// MARK: - MessagePackError

/// Bytes that are not one well-formed msgpack value.
public struct MessagePackError: Error, Sendable, CustomStringConvertible {
    /// What was wrong, with the offset where it was found.
    public let message: String

    /// Creates an error.
    public init(_ message: String) {
        self.message = message
    }

    /// `malformed msgpack: <message>`.
    public var description: String { "malformed msgpack: \(message)" }
}
