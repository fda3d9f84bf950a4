#if canImport(Glibc)
import Glibc
#endif
import CCompression
import SergeantCore

// MARK: - Compressor codecs

/// The codecs behind each ``Compressor`` (zlib, bzip2, liblzma). Only the host, the broker
/// and the command line link them: a worker plugin names a compressor in its configuration
/// and never compresses.
extension Compressor {
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
