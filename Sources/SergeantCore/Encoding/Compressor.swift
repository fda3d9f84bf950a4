#if canImport(Glibc)
import Glibc
#endif
import CCompression

// MARK: - Compressor

/// A compression format for task payloads.
///
/// Every case reads and writes exactly the byte format that the matching Python
/// standard-library module reads and writes, so payloads can travel between
/// Swift and Python workers:
///
/// | case     | Python equivalent                    | container                         |
/// |----------|--------------------------------------|-----------------------------------|
/// | `zlib`   | `zlib.compress(data)` (level 6)      | zlib stream (RFC 1950)            |
/// | `gzip`   | `gzip.compress(data, mtime=0)`       | gzip member (RFC 1952), level 9   |
/// | `bzip2`  | `bz2.compress(data)` (level 9)       | bzip2 stream, 900k blocks         |
/// | `lzma`   | `lzma.compress(data)`                | `.xz` stream, preset 6, CRC64     |
///
/// The raw value is the name used in configuration and in message headers.
public enum Compressor: String, Codable, Sendable, CaseIterable {
    /// A zlib stream (RFC 1950), deflate level 6, 32 KiB window: what Python's
    /// `zlib.compress` writes by default.
    case zlib
    /// A gzip member (RFC 1952), deflate level 9, modification time 0: byte for
    /// byte what Python's `gzip.compress(data, mtime=0)` writes. Decompression
    /// accepts any gzip header (with mtime, file name, comment, extra field or
    /// header CRC) and concatenated members.
    case gzip
    /// A bzip2 stream with 900 kB blocks: what Python's `bz2.compress` writes by
    /// default. Decompression accepts concatenated streams.
    case bzip2
    /// An `.xz` stream, preset 6 with a CRC64 check: what Python's
    /// `lzma.compress` writes by default. Decompression accepts concatenated
    /// streams and stream padding.
    case lzma

    /// Compresses `data` into this format.
    ///
    /// - Parameter data: The bytes to compress; may be empty.
    /// - Returns: A complete, self-contained compressed stream.
    /// - Throws: ``CompressorError`` if the underlying library fails (for
    ///   example when it cannot allocate memory).
    public func compress(_ data: [UInt8]) throws(CompressorError) -> [UInt8] {
        switch self {
        case .zlib, .gzip:
            // A deflate state is a quarter megabyte, allocated and zeroed per stream; freeing it
            // lets glibc trim the heap, so a small pushing process paid page faults per task.
            // Each thread keeps one per format and resets it instead.
            let deflater = try DeflaterCache.current.deflater(for: self)
            defer { deflater.reset() }
            return try runCodec(deflater.codec, owner: self, input: data,
                                initialCapacity: deflater.codec.compressedBound(data.count),
                                outputLimit: nil)
        case .bzip2:
            let codec = try Bzip2Codec(compressing: true)
            return try runCodec(codec, owner: self, input: data,
                                initialCapacity: Bzip2Codec.compressedBound(data.count),
                                outputLimit: nil)
        case .lzma:
            let codec = try LzmaCodec(compressing: true)
            return try runCodec(codec, owner: self, input: data,
                                initialCapacity: LzmaCodec.compressedBound(data.count),
                                outputLimit: nil)
        }
    }

    /// Decompresses a complete stream in this format.
    ///
    /// The output size does not need to be known in advance: the output buffer
    /// grows as the stream is decoded. Decoding stops with an error as soon as
    /// the output would exceed `maximumSize`, so a small malicious input cannot
    /// exhaust memory.
    ///
    /// - Parameters:
    ///   - data: A complete compressed stream. Empty input, garbage, truncated
    ///     input and unexpected trailing bytes are rejected.
    ///   - maximumSize: The largest decompressed size accepted, in bytes.
    ///     Defaults to 256 MiB. Negative values are treated as 0.
    /// - Returns: The decompressed bytes.
    /// - Throws: ``CompressorError`` if the input is not a valid, complete
    ///   stream or if it decompresses to more than `maximumSize` bytes.
    public func decompress(_ data: [UInt8], maximumSize: Int = 256 << 20) throws(CompressorError) -> [UInt8] {
        guard !data.isEmpty else {
            throw CompressorError(compressor: self, message: "empty input is not a valid \(self.rawValue) stream")
        }
        let limit = max(0, maximumSize)
        let capacity = Self.initialDecompressionCapacity(inputCount: data.count, limit: limit)
        switch self {
        case .zlib:
            let codec = try ZlibCodec(owner: self, decompressingWithWindowBits: 15)
            return try runCodec(codec, owner: self, input: data, initialCapacity: capacity, outputLimit: limit)
        case .gzip:
            let codec = try ZlibCodec(owner: self, decompressingWithWindowBits: 15 + 16)
            return try runCodec(codec, owner: self, input: data, initialCapacity: capacity, outputLimit: limit)
        case .bzip2:
            let codec = try Bzip2Codec(compressing: false)
            return try runCodec(codec, owner: self, input: data, initialCapacity: capacity, outputLimit: limit)
        case .lzma:
            let codec = try LzmaCodec(compressing: false)
            return try runCodec(codec, owner: self, input: data, initialCapacity: capacity, outputLimit: limit)
        }
    }

    /// A first guess at the decompressed size: a few times the input, at least
    /// 1 KiB, never more than one byte past the limit.
    private static func initialDecompressionCapacity(inputCount: Int, limit: Int) -> Int {
        let (guess, overflow) = inputCount.multipliedReportingOverflow(by: 4)
        let wanted = overflow ? Int.max : max(guess, 1024)
        return min(wanted, limit == Int.max ? Int.max : limit + 1)
    }
}
