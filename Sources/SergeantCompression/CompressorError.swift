import SergeantCore

// MARK: - CompressorError

/// An error raised by ``Compressor/compress(_:)`` or
/// ``Compressor/decompress(_:maximumSize:)``.
public struct CompressorError: Error, CustomStringConvertible, Sendable {
    /// The format that was being written or read.
    public let compressor: Compressor
    /// What went wrong, without the format prefix, e.g.
    /// `"invalid or truncated data (Z_DATA_ERROR: incorrect header check)"`.
    public let message: String

    /// The format name followed by the message, e.g.
    /// `"zlib: invalid or truncated data (Z_DATA_ERROR: incorrect header check)"`.
    public var description: String { "\(compressor.rawValue): \(message)" }

    /// Creates an error for `compressor` with `message`.
    init(compressor: Compressor, message: String) {
        self.compressor = compressor
        self.message = message
    }
}
