#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Value as msgpack

extension Value {
    /// The value as msgpack bytes, as Python's `msgpack.packb(value, use_bin_type=True)`
    /// writes them: what a task's kwargs are on the wire.
    ///
    /// ```swift
    /// let value: Value = ["n": 1]
    /// let bytes = value.messagePack()      // [0x81, 0xa1, 0x6e, 0x01]
    /// try Value(messagePack: bytes)        // ["n": 1]
    /// ```
    public func messagePack() -> [UInt8] {
        MessagePack.encode(self)
    }

    /// Reads exactly one msgpack value spanning all of `bytes`.
    public init(messagePack bytes: [UInt8]) throws(MessagePackError) {
        self = try MessagePack.decode(bytes)
    }
}

// MARK: - MessagePack

/// msgpack as Python's `msgpack` package writes it with `use_bin_type=True`: the smallest
/// integer form, float64 for floats, str8 for short strings, bin for bytes. Encoding a
/// ``Value`` that was decoded from Python's bytes gives those bytes back.
package enum MessagePack {
    /// Nesting deeper than this is refused when decoding (hostile input).
    package static let maximumDepth = 512

    /// Encodes a value.
    package static func encode(_ value: Value) -> [UInt8] {
        var writer = Writer()
        writer.write(value)
        return writer.bytes
    }

    /// Decodes exactly one value that spans all of `bytes`.
    package static func decode(_ bytes: [UInt8]) throws(MessagePackError) -> Value {
        try bytes.withUnsafeBufferPointer { (buffer) throws(MessagePackError) -> Value in
            try decode(UnsafeRawBufferPointer(buffer))
        }
    }

    /// Decodes exactly one value that spans all of `buffer`.
    package static func decode(_ buffer: UnsafeRawBufferPointer) throws(MessagePackError) -> Value {
        var reader = Reader(buffer: buffer)
        let value = try reader.read(depth: 0)
        try reader.checkEnd()
        return value
    }

    /// Checks that `buffer` holds exactly one well-formed value, without building it.
    package static func check(_ buffer: UnsafeRawBufferPointer) throws(MessagePackError) {
        var reader = Reader(buffer: buffer)
        try reader.skip()
        try reader.checkEnd()
    }

    // MARK: Writer

    /// Appends msgpack encodings to a byte buffer.
    package struct Writer: Sendable {
        /// The bytes written so far.
        package private(set) var bytes: [UInt8] = []

        /// Creates an empty writer with room for `capacity` bytes.
        package init(capacity: Int = 128) {
            bytes.reserveCapacity(capacity)
        }

        /// Appends one value.
        package mutating func write(_ value: Value) {
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
        package mutating func writeMapHeader(count: Int) {
            writeHeader(count: count, small: (0x80, 16), codes: (nil, 0xde, 0xdf))
        }

        /// Appends a string.
        package mutating func write(string: String) {
            var string = string
            string.withUTF8 { utf8 in
                writeHeader(count: utf8.count, small: (0xa0, 32), codes: (0xd9, 0xda, 0xdb))
                bytes.append(contentsOf: utf8)
            }
        }

        /// Appends a string known when compiling (a map key), without making a String.
        package mutating func write(key: StaticString) {
            let count = key.utf8CodeUnitCount
            writeHeader(count: count, small: (0xa0, 32), codes: (0xd9, 0xda, 0xdb))
            bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: count))
        }

        /// Appends an optional string (nil when absent).
        package mutating func write(string: String?) {
            if let string { write(string: string) } else { bytes.append(0xc0) }
        }

        /// Appends a signed integer in its smallest form, as Python's msgpack does.
        package mutating func write(int number: Int64) {
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
        package mutating func write(uint number: UInt64) {
            switch number {
            case 0..<128: bytes.append(UInt8(number))
            case 0...UInt64(UInt8.max): bytes.append(0xcc); append(number, count: 1)
            case 0...UInt64(UInt16.max): bytes.append(0xcd); append(number, count: 2)
            case 0...UInt64(UInt32.max): bytes.append(0xce); append(number, count: 4)
            default: bytes.append(0xcf); append(number, count: 8)
            }
        }

        /// Appends a float64.
        package mutating func write(double number: Double) {
            bytes.append(0xcb)
            append(number.bitPattern, count: 8)
        }

        /// Appends bytes that already are one encoded msgpack value.
        package mutating func write(encoded: [UInt8]) {
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

        /// Appends the low `count` bytes of `number`, big-endian.
        private mutating func append(_ number: UInt64, count: Int) {
            withUnsafeBytes(of: number.bigEndian) { all in
                bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: all[(8 - count)...]))
            }
        }
    }

    // MARK: Reader

    /// Reads msgpack values from a borrowed buffer, checking every length against it.
    package struct Reader {
        /// The buffer being read.
        package let buffer: UnsafeRawBufferPointer
        /// Position of the next byte to read.
        package private(set) var offset = 0

        /// Creates a reader at the start of `buffer`.
        package init(buffer: UnsafeRawBufferPointer) {
            self.buffer = buffer
        }

        /// Reads one complete value.
        package mutating func read(depth: Int = 0) throws(MessagePackError) -> Value {
            guard depth <= MessagePack.maximumDepth else { throw tooDeep() }
            switch try header() {
            case .null: return .null
            case .bool(let flag): return .bool(flag)
            case .int(let number): return .int(number)
            case .uint(let number): return .uint(number)
            case .double(let number): return .double(number)
            case .string(let count): return .string(try string(count: count))
            case .bytes(let count): return .bytes(Array(try advance(count)))
            case .array(let count):
                try checkRoom(count, bytesEach: 1)
                var values: [Value] = []
                values.reserveCapacity(count)
                for _ in 0..<count { values.append(try read(depth: depth + 1)) }
                return .array(values)
            case .map(let count):
                try checkRoom(count, bytesEach: 2)
                var entries: [ValueMap.Entry] = []
                entries.reserveCapacity(count)
                for _ in 0..<count {
                    let key = try read(depth: depth + 1)
                    entries.append(ValueMap.Entry(key: key, value: try read(depth: depth + 1)))
                }
                return .map(ValueMap(entries))
            }
        }

        /// Checks one complete value as ``read(depth:)`` would, and passes over it without
        /// building it (no allocation).
        package mutating func skip(depth: Int = 0) throws(MessagePackError) {
            guard depth <= MessagePack.maximumDepth else { throw tooDeep() }
            switch try header() {
            case .null, .bool, .int, .uint, .double: return
            case .string(let count): _ = try stringBytes(count: count)
            case .bytes(let count): _ = try advance(count)
            case .array(let count):
                try checkRoom(count, bytesEach: 1)
                for _ in 0..<count { try skip(depth: depth + 1) }
            case .map(let count):
                try checkRoom(count, bytesEach: 2)
                for _ in 0..<(count * 2) { try skip(depth: depth + 1) }
            }
        }

        /// Throws unless every byte of the buffer was read.
        package func checkEnd() throws(MessagePackError) {
            guard offset == buffer.count else {
                throw MessagePackError("\(buffer.count - offset) trailing bytes after the value")
            }
        }

        /// The kind of the next value, without reading it.
        package func peekKind() throws(MessagePackError) -> Value.Kind {
            var copy = self
            switch try copy.header() {
            case .null: return .null
            case .bool: return .bool
            case .int, .uint: return .integer
            case .double: return .float
            case .string: return .string
            case .bytes: return .bytes
            case .array: return .array
            case .map: return .map
            }
        }

        /// Reads a map header and returns its number of entries (the caller reads them), or
        /// returns nil and reads nothing when the next value is not a map.
        package mutating func readMapHeader() throws(MessagePackError) -> Int? {
            var copy = self
            guard case .map(let count) = try copy.header() else { return nil }
            try copy.checkRoom(count, bytesEach: 2)
            self = copy
            return count
        }

        /// Reads a string and returns its checked UTF-8 bytes (borrowed from the buffer), or
        /// returns nil and reads nothing when the next value is not a string.
        package mutating func readStringBytes() throws(MessagePackError) -> UnsafeRawBufferPointer? {
            var copy = self
            guard case .string(let count) = try copy.header() else { return nil }
            let bytes = try copy.stringBytes(count: count)
            self = copy
            return bytes
        }

        /// Reads the next byte when it is `expected`; otherwise reads nothing.
        @inline(__always)
        package mutating func readByte(_ expected: UInt8) -> Bool {
            guard offset < buffer.count, buffer[offset] == expected else { return false }
            offset += 1
            return true
        }

        /// Reads the next value when it is this short ASCII string (a fixstr, compared byte
        /// for byte); otherwise reads nothing.
        @inline(__always)
        package mutating func readString(equalTo literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard count < 32, buffer.count - offset > count, buffer[offset] == 0xa0 | UInt8(count),
                  memcmp(buffer.baseAddress! + offset + 1, literal.utf8Start, count) == 0 else { return false }
            offset += 1 + count
            return true
        }

        // MARK: Type bytes

        /// What a type byte announces: a whole scalar, or the length of what follows. Plain
        /// data, so reading one copies no reference.
        private enum Header {
            case null
            case bool(Bool)
            case int(Int64)
            case uint(UInt64)
            case double(Double)
            case string(Int)
            case bytes(Int)
            case array(Int)
            case map(Int)
        }

        /// Reads a type byte and any length or scalar payload after it.
        @inline(__always)
        private mutating func header() throws(MessagePackError) -> Header {
            let code = try byte()
            switch code {
            case 0x00...0x7f: return .int(Int64(code))
            case 0x80...0x8f: return .map(Int(code & 0x0f))
            case 0x90...0x9f: return .array(Int(code & 0x0f))
            case 0xa0...0xbf: return .string(Int(code & 0x1f))
            case 0xc0: return .null
            case 0xc2: return .bool(false)
            case 0xc3: return .bool(true)
            case 0xc4: return .bytes(Int(try number(1)))
            case 0xc5: return .bytes(Int(try number(2)))
            case 0xc6: return .bytes(Int(try number(4)))
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
            case 0xd9: return .string(Int(try number(1)))
            case 0xda: return .string(Int(try number(2)))
            case 0xdb: return .string(Int(try number(4)))
            case 0xdc: return .array(Int(try number(2)))
            case 0xdd: return .array(Int(try number(4)))
            case 0xde: return .map(Int(try number(2)))
            case 0xdf: return .map(Int(try number(4)))
            case 0xe0...0xff: return .int(Int64(Int8(bitPattern: code)))
            default: throw MessagePackError("invalid msgpack type byte 0xc1 at offset \(offset - 1)")
            }
        }

        // MARK: Payloads

        /// Every element takes at least `bytesEach` bytes: a count larger than what is left
        /// is a lie, refused before anything is reserved for it.
        @inline(__always)
        private func checkRoom(_ count: Int, bytesEach: Int) throws(MessagePackError) {
            guard count <= (buffer.count - offset) / bytesEach else { throw truncated(count * bytesEach) }
        }

        @inline(__always)
        private mutating func byte() throws(MessagePackError) -> UInt8 {
            guard offset < buffer.count else { throw truncated(1) }
            defer { offset += 1 }
            return buffer[offset]
        }

        @inline(__always)
        private mutating func number(_ count: Int) throws(MessagePackError) -> UInt64 {
            guard buffer.count - offset >= count else { throw truncated(count) }
            var value: UInt64 = 0
            for index in offset..<(offset + count) { value = value << 8 | UInt64(buffer[index]) }
            offset += count
            return value
        }

        /// The next `count` bytes, borrowed from the buffer.
        @inline(__always)
        private mutating func advance(_ count: Int) throws(MessagePackError) -> UnsafeRawBufferPointer {
            guard buffer.count - offset >= count else { throw truncated(count) }
            defer { offset += count }
            return UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + count)])
        }

        private mutating func stringBytes(count: Int) throws(MessagePackError) -> UnsafeRawBufferPointer {
            let start = offset
            let bytes = try advance(count)
            guard UTF8Validation.isValid(bytes) else {
                throw MessagePackError("invalid UTF-8 in a string at offset \(start)")
            }
            return bytes
        }

        private mutating func string(count: Int) throws(MessagePackError) -> String {
            // Checked above, so decoding repairs nothing; String(decoding:) is the fast path.
            String(decoding: try stringBytes(count: count), as: UTF8.self)
        }

        private func tooDeep() -> MessagePackError {
            MessagePackError("nesting deeper than \(MessagePack.maximumDepth) levels")
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
