// MARK: - UTF8Validation

/// A UTF-8 check without generic code paths: the standard library's `String(validating:)`
/// instantiates generic metadata on every call, which made it the largest single cost of
/// decoding a task (a third of a worker's instructions in `make bench`'s batch rows).
package enum UTF8Validation {
    /// True when `bytes` is well-formed UTF-8 (RFC 3629): no overlong forms, no surrogates,
    /// nothing above U+10FFFF, no truncated sequence.
    package static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        while index < count {
            // ASCII runs, eight bytes at a time.
            while count - index >= 8,
                  bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 {
                index += 8
            }
            guard index < count else { return true }
            let lead = bytes[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            // The length of the sequence and the range its second byte must be in.
            let length: Int
            var lowest: UInt8 = 0x80
            var highest: UInt8 = 0xbf
            switch lead {
            case 0xc2...0xdf: length = 2
            case 0xe0: length = 3; lowest = 0xa0  // no overlong 3-byte forms
            case 0xe1...0xec, 0xee, 0xef: length = 3
            case 0xed: length = 3; highest = 0x9f  // no surrogates
            case 0xf0: length = 4; lowest = 0x90  // no overlong 4-byte forms
            case 0xf1...0xf3: length = 4
            case 0xf4: length = 4; highest = 0x8f  // nothing above U+10FFFF
            default: return false
            }
            guard count - index >= length else { return false }
            let second = bytes[index + 1]
            guard second >= lowest && second <= highest else { return false }
            var next = index + 2
            while next < index + length {
                guard bytes[next] & 0xc0 == 0x80 else { return false }
                next += 1
            }
            index += length
        }
        return true
    }
}
