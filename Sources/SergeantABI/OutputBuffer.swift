// MARK: - OutputBuffer

/// The receiving side of a `sergeant_output`: collects every item written to it.
///
/// ```swift
/// let buffer = OutputBuffer()
/// status = buffer.withOutput { output in api.config(worker, output, nil) }
/// ```
///
/// Calls made per task use ``withOutput(into:_:)`` instead, which allocates nothing unless
/// the other side writes.
package final class OutputBuffer {
    /// Items received, in order.
    package private(set) var items: [[UInt8]] = []

    /// Creates an empty buffer.
    package init() {}

    /// All items joined, read as UTF-8 text (error messages, JSON).
    package var text: String { Self.text(of: items) }

    /// Runs `body` with a `sergeant_output` that appends to this buffer.
    package func withOutput<T>(_ body: (UnsafePointer<sergeant_output>) throws -> T) rethrows -> T {
        try Self.withOutput(into: &items, body)
    }

    /// Runs `body` with a `sergeant_output` that appends each item written to `items`.
    package static func withOutput<T>(into items: inout [[UInt8]], _ body: (UnsafePointer<sergeant_output>) throws -> T) rethrows -> T {
        try withUnsafeMutablePointer(to: &items) { pointer in
            var output = sergeant_output(
                write: { context, bytes, length in
                    let items = context!.assumingMemoryBound(to: [[UInt8]].self)
                    items.pointee.append(length > 0 && bytes != nil ? Array(UnsafeBufferPointer(start: bytes, count: length)) : [])
                },
                context: UnsafeMutableRawPointer(pointer)
            )
            return try body(&output)
        }
    }

    /// Items joined, read as UTF-8 text.
    package static func text(of items: [[UInt8]]) -> String {
        switch items.count {
        case 0: return ""
        case 1: return String(decoding: items[0], as: UTF8.self)
        default: return String(decoding: Array(items.joined()), as: UTF8.self)
        }
    }
}

// MARK: - Writing to an output

/// Writes bytes to an output the other side gave; nothing happens when it is NULL.
package func write(_ bytes: [UInt8], to output: UnsafePointer<sergeant_output>?) {
    guard let output else { return }
    bytes.withUnsafeBufferPointer { buffer in
        output.pointee.write(output.pointee.context, buffer.baseAddress, buffer.count)
    }
}

/// Writes a UTF-8 message to an output the other side gave; nothing happens when it is NULL.
package func write(_ message: String, to output: UnsafePointer<sergeant_output>?) {
    write(Array(message.utf8), to: output)
}
