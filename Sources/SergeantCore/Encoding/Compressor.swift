#if canImport(Glibc)
import Glibc
#endif
import CCompression

// MARK: - Public API

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

// MARK: - Streaming driver

/// What one call into a C library's streaming function reported.
private enum StepStatus {
    /// Some work was done (possibly none, which the driver checks); call again.
    case progress
    /// The end-of-stream marker was reached (or written).
    case streamEnd
    /// The library reported an error; the string says which.
    case failure(String)
}

/// How a decoder deals with bytes left over after an end-of-stream marker.
private enum Concatenation {
    /// Leftover bytes are an error.
    case rejectTrailingData
    /// Leftover bytes must be another complete stream (restart the decoder).
    case members
    /// Like `members`, but NUL bytes between and after members are skipped,
    /// as Python's `gzip.decompress` and GNU gzip do.
    case membersWithZeroPadding
}

/// One of zlib, libbz2 or liblzma's streaming interfaces, with its stream state
/// owned by the value (released in `deinit`).
private protocol StreamCodec: ~Copyable {
    /// The most bytes one call can be given as input or output space.
    static var maximumChunk: Int { get }
    /// Whether the codec compresses (true) or decompresses (false).
    var isCompressing: Bool { get }
    /// What to do with bytes after the end of a stream (decoders only).
    var concatenation: Concatenation { get }
    /// Runs the library once on the given input and output space.
    func step(input: UnsafePointer<UInt8>?, inputCount: Int,
              output: UnsafeMutablePointer<UInt8>, outputCount: Int,
              isFinalInput: Bool) -> (consumed: Int, produced: Int, status: StepStatus)
    /// Prepares the decoder for another concatenated stream; returns an error
    /// message on failure.
    func restart() -> String?
}

/// Output storage for the driver: uninitialized bytes that the C libraries
/// write into, grown by doubling, copied once into an exact-size array at the
/// end. (Growing a zero-filled `[UInt8]` instead costs a fill per growth and is
/// very slow in unoptimized builds.)
private struct GrowableOutput: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var capacity: Int

    init(capacity: Int) {
        self.base = .allocate(capacity: capacity)
        self.capacity = capacity
    }

    deinit {
        base.deallocate()
    }

    /// Moves to a buffer of `newCapacity` bytes, keeping the first `count`.
    mutating func grow(to newCapacity: Int, keeping count: Int) {
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.initialize(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    /// A copy of the first `count` bytes.
    func array(count: Int) -> [UInt8] {
        guard count > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initializedCount in
            buffer.baseAddress!.initialize(from: base, count: count)
            initializedCount = count
        }
    }
}

/// Feeds all of `input` through `codec`, collecting output in a buffer that
/// grows by doubling. With `outputLimit`, refuses to produce more than that
/// many bytes.
private func runCodec<C: StreamCodec & ~Copyable>(
    _ codec: borrowing C,
    owner: Compressor,
    input: [UInt8],
    initialCapacity: Int,
    outputLimit: Int?
) throws(CompressorError) -> [UInt8] {
    // One byte past the limit is room enough to notice the limit is exceeded.
    let hardCapacity: Int
    if let outputLimit {
        hardCapacity = outputLimit == Int.max ? Int.max : outputLimit + 1
    } else {
        hardCapacity = Int.max
    }
    func limitExceeded() -> CompressorError {
        CompressorError(
            compressor: owner,
            message: "decompressed data exceeds maximumSize of \(outputLimit ?? Int.max) bytes"
                + " (refusing a possible decompression bomb)")
    }

    return try input.withUnsafeBufferPointer { (inBuffer) throws(CompressorError) -> [UInt8] in
        let inputCount = inBuffer.count
        var output = GrowableOutput(capacity: max(1, min(initialCapacity, hardCapacity)))
        var produced = 0
        var consumed = 0

        while true {
            if produced == output.capacity {
                guard output.capacity < hardCapacity else { throw limitExceeded() }
                let (doubled, overflow) = output.capacity.multipliedReportingOverflow(by: 2)
                output.grow(to: min(overflow ? Int.max : max(doubled, 1024), hardCapacity), keeping: produced)
            }

            let inputChunk = min(inputCount - consumed, C.maximumChunk)
            let outputChunk = min(output.capacity - produced, C.maximumChunk)
            let result = codec.step(
                input: inBuffer.baseAddress.map { $0 + consumed }, inputCount: inputChunk,
                output: output.base + produced, outputCount: outputChunk,
                isFinalInput: consumed + inputChunk == inputCount)
            consumed += result.consumed
            produced += result.produced

            switch result.status {
            case .failure(let message):
                throw CompressorError(compressor: owner, message: message)

            case .streamEnd:
                if let outputLimit, produced > outputLimit { throw limitExceeded() }
                if consumed < inputCount {
                    switch codec.concatenation {
                    case .rejectTrailingData:
                        throw CompressorError(
                            compressor: owner,
                            message: "\(inputCount - consumed) bytes of trailing data after the end of the stream")
                    case .members:
                        break
                    case .membersWithZeroPadding:
                        while consumed < inputCount && inBuffer[consumed] == 0 { consumed += 1 }
                    }
                }
                if consumed == inputCount {
                    return output.array(count: produced)
                }
                if let message = codec.restart() {
                    throw CompressorError(compressor: owner, message: message)
                }

            case .progress:
                if result.consumed == 0 && result.produced == 0 {
                    // Output space was available, so the library is stuck.
                    if consumed == inputCount && !codec.isCompressing {
                        throw CompressorError(
                            compressor: owner,
                            message: "invalid or truncated data: input ended before the end-of-stream marker")
                    }
                    throw CompressorError(compressor: owner, message: "internal error: the codec made no progress")
                }
            }
        }
    }
}

// MARK: - zlib / gzip

private struct ZlibCodec: ~Copyable, StreamCodec {
    static var maximumChunk: Int { Int(UInt32.max) }

    /// Heap-allocated: zlib keeps a back-pointer to the stream and rejects
    /// calls if the z_stream has moved.
    private let stream: UnsafeMutablePointer<z_stream>
    let isCompressing: Bool
    let concatenation: Concatenation

    init(owner: Compressor, compressingAtLevel level: Int32, windowBits: Int32) throws(CompressorError) {
        let stream = Self.allocateStream()
        let rc = deflateInit2_(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            Self.freeStream(stream)
            throw CompressorError(compressor: owner, message: "deflateInit2 failed (\(zlibCodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = true
        self.concatenation = .rejectTrailingData
    }

    init(owner: Compressor, decompressingWithWindowBits windowBits: Int32) throws(CompressorError) {
        let stream = Self.allocateStream()
        let rc = inflateInit2_(stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            Self.freeStream(stream)
            throw CompressorError(compressor: owner, message: "inflateInit2 failed (\(zlibCodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = false
        // windowBits > 15 selects the gzip wrapper; gzip allows several members.
        self.concatenation = windowBits > 15 ? .membersWithZeroPadding : .rejectTrailingData
    }

    deinit {
        if isCompressing {
            deflateEnd(stream)
        } else {
            inflateEnd(stream)
        }
        Self.freeStream(stream)
    }

    private static func allocateStream() -> UnsafeMutablePointer<z_stream> {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())  // zalloc/zfree/opaque = Z_NULL: use malloc
        return stream
    }

    private static func freeStream(_ stream: UnsafeMutablePointer<z_stream>) {
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// deflateBound for the configured level and wrapper (includes the gzip
    /// header and trailer when writing gzip).
    func compressedBound(_ count: Int) -> Int {
        let bound = deflateBound(stream, uLong(count))
        return bound > uLong(Int.max) ? Int.max : Int(bound)
    }

    func step(input: UnsafePointer<UInt8>?, inputCount: Int,
              output: UnsafeMutablePointer<UInt8>, outputCount: Int,
              isFinalInput: Bool) -> (consumed: Int, produced: Int, status: StepStatus) {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input)  // zlib never writes input
        stream.pointee.avail_in = uInt(inputCount)
        stream.pointee.next_out = output
        stream.pointee.avail_out = uInt(outputCount)
        let rc = isCompressing
            ? deflate(stream, isFinalInput ? Z_FINISH : Z_NO_FLUSH)
            : inflate(stream, Z_NO_FLUSH)
        let consumed = inputCount - Int(stream.pointee.avail_in)
        let produced = outputCount - Int(stream.pointee.avail_out)
        let detail = stream.pointee.msg.map { String(cString: $0) }
        // Do not leave pointers into Swift buffers behind.
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil

        let status: StepStatus
        switch rc {
        case Z_OK, Z_BUF_ERROR:
            status = .progress
        case Z_STREAM_END:
            status = .streamEnd
        case Z_NEED_DICT:
            status = .failure("stream needs a preset dictionary, which is not supported (Z_NEED_DICT)")
        case Z_DATA_ERROR:
            status = .failure("invalid or truncated data (Z_DATA_ERROR\(detail.map { ": " + $0 } ?? ""))")
        case Z_MEM_ERROR:
            status = .failure("out of memory (Z_MEM_ERROR)")
        default:
            status = .failure("\(isCompressing ? "deflate" : "inflate") failed (\(zlibCodeName(rc))"
                              + "\(detail.map { ": " + $0 } ?? ""))")
        }
        return (consumed, produced, status)
    }

    func restart() -> String? {
        let rc = inflateReset(stream)
        return rc == Z_OK ? nil : "inflateReset failed (\(zlibCodeName(rc)))"
    }

    /// Makes a compressor ready for a new stream with the same settings.
    func resetCompressor() {
        deflateReset(stream)
    }
}

// MARK: - DeflaterCache

/// A reusable deflate state.
private final class Deflater {
    let codec: ZlibCodec

    init(_ codec: consuming ZlibCodec) {
        self.codec = codec
    }

    func reset() {
        codec.resetCompressor()
    }
}

/// One deflater per format for the current thread.
private final class DeflaterCache {
    private var zlib: Deflater?
    private var gzip: Deflater?

    /// This thread's cache.
    static var current: DeflaterCache {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<DeflaterCache>.fromOpaque(existing).takeUnretainedValue()
        }
        let cache = DeflaterCache()
        pthread_setspecific(key, Unmanaged.passRetained(cache).toOpaque())
        return cache
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { pointer in
            if let pointer { Unmanaged<DeflaterCache>.fromOpaque(pointer).release() }
        }
        return key
    }()

    /// The deflater of `format`: zlib level 6 or gzip level 9, as Python writes them.
    func deflater(for format: Compressor) throws(CompressorError) -> Deflater {
        if format == .gzip {
            if let gzip { return gzip }
            let made = Deflater(try ZlibCodec(owner: .gzip, compressingAtLevel: 9, windowBits: 15 + 16))
            gzip = made
            return made
        }
        if let zlib { return zlib }
        let made = Deflater(try ZlibCodec(owner: .zlib, compressingAtLevel: 6, windowBits: 15))
        zlib = made
        return made
    }
}

private func zlibCodeName(_ code: Int32) -> String {
    switch code {
    case Z_OK: return "Z_OK"
    case Z_STREAM_END: return "Z_STREAM_END"
    case Z_NEED_DICT: return "Z_NEED_DICT"
    case Z_ERRNO: return "Z_ERRNO"
    case Z_STREAM_ERROR: return "Z_STREAM_ERROR"
    case Z_DATA_ERROR: return "Z_DATA_ERROR"
    case Z_MEM_ERROR: return "Z_MEM_ERROR"
    case Z_BUF_ERROR: return "Z_BUF_ERROR"
    case Z_VERSION_ERROR: return "Z_VERSION_ERROR"
    default: return "zlib error \(code)"
    }
}

// MARK: - bzip2

private struct Bzip2Codec: ~Copyable, StreamCodec {
    static var maximumChunk: Int { Int(UInt32.max) }

    /// Heap-allocated: libbz2 keeps a back-pointer to the stream and rejects
    /// calls if the bz_stream has moved.
    private let stream: UnsafeMutablePointer<bz_stream>
    let isCompressing: Bool
    var concatenation: Concatenation { .members }

    init(compressing: Bool) throws(CompressorError) {
        let stream = UnsafeMutablePointer<bz_stream>.allocate(capacity: 1)
        stream.initialize(to: bz_stream())  // bzalloc/bzfree/opaque = NULL: use malloc
        // blockSize100k 9 (Python's default level), verbosity 0, default workFactor.
        let rc = compressing ? BZ2_bzCompressInit(stream, 9, 0, 0) : BZ2_bzDecompressInit(stream, 0, 0)
        guard rc == BZ_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CompressorError(
                compressor: .bzip2,
                message: "\(compressing ? "BZ2_bzCompressInit" : "BZ2_bzDecompressInit") failed (\(bzip2CodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = compressing
    }

    deinit {
        // Both End functions are harmless on a stream that is already ended.
        if isCompressing {
            BZ2_bzCompressEnd(stream)
        } else {
            BZ2_bzDecompressEnd(stream)
        }
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The documented worst case: 1% larger plus 600 bytes.
    static func compressedBound(_ count: Int) -> Int {
        let (bound, overflow) = count.addingReportingOverflow(count / 100 + 600)
        return overflow ? Int.max : bound
    }

    func step(input: UnsafePointer<UInt8>?, inputCount: Int,
              output: UnsafeMutablePointer<UInt8>, outputCount: Int,
              isFinalInput: Bool) -> (consumed: Int, produced: Int, status: StepStatus) {
        // libbz2 takes `char *`; UInt8 and CChar may alias, and it never writes input.
        stream.pointee.next_in = input.map {
            UnsafeMutableRawPointer(mutating: $0).assumingMemoryBound(to: CChar.self)
        }
        stream.pointee.avail_in = UInt32(inputCount)
        stream.pointee.next_out = UnsafeMutableRawPointer(output).assumingMemoryBound(to: CChar.self)
        stream.pointee.avail_out = UInt32(outputCount)
        let rc = isCompressing
            ? BZ2_bzCompress(stream, isFinalInput ? BZ_FINISH : BZ_RUN)
            : BZ2_bzDecompress(stream)
        let consumed = inputCount - Int(stream.pointee.avail_in)
        let produced = outputCount - Int(stream.pointee.avail_out)
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil

        let status: StepStatus
        switch rc {
        case BZ_OK, BZ_RUN_OK, BZ_FINISH_OK:
            status = .progress
        case BZ_STREAM_END:
            status = .streamEnd
        case BZ_DATA_ERROR:
            status = .failure("invalid or corrupt data (BZ_DATA_ERROR)")
        case BZ_DATA_ERROR_MAGIC:
            status = .failure("invalid data: not a bzip2 stream (BZ_DATA_ERROR_MAGIC)")
        case BZ_MEM_ERROR:
            status = .failure("out of memory (BZ_MEM_ERROR)")
        default:
            status = .failure("\(isCompressing ? "BZ2_bzCompress" : "BZ2_bzDecompress") failed (\(bzip2CodeName(rc)))")
        }
        return (consumed, produced, status)
    }

    func restart() -> String? {
        BZ2_bzDecompressEnd(stream)
        stream.pointee = bz_stream()
        let rc = BZ2_bzDecompressInit(stream, 0, 0)
        return rc == BZ_OK ? nil : "BZ2_bzDecompressInit failed (\(bzip2CodeName(rc)))"
    }
}

private func bzip2CodeName(_ code: Int32) -> String {
    switch code {
    case BZ_OK: return "BZ_OK"
    case BZ_RUN_OK: return "BZ_RUN_OK"
    case BZ_FLUSH_OK: return "BZ_FLUSH_OK"
    case BZ_FINISH_OK: return "BZ_FINISH_OK"
    case BZ_STREAM_END: return "BZ_STREAM_END"
    case BZ_SEQUENCE_ERROR: return "BZ_SEQUENCE_ERROR"
    case BZ_PARAM_ERROR: return "BZ_PARAM_ERROR"
    case BZ_MEM_ERROR: return "BZ_MEM_ERROR"
    case BZ_DATA_ERROR: return "BZ_DATA_ERROR"
    case BZ_DATA_ERROR_MAGIC: return "BZ_DATA_ERROR_MAGIC"
    case BZ_IO_ERROR: return "BZ_IO_ERROR"
    case BZ_UNEXPECTED_EOF: return "BZ_UNEXPECTED_EOF"
    case BZ_OUTBUFF_FULL: return "BZ_OUTBUFF_FULL"
    case BZ_CONFIG_ERROR: return "BZ_CONFIG_ERROR"
    default: return "bzip2 error \(code)"
    }
}

// MARK: - xz (lzma)

private struct LzmaCodec: ~Copyable, StreamCodec {
    static var maximumChunk: Int { Int.max }

    /// Memory the decoder may use. Streams written with presets 0-9 need at
    /// most 65 MiB; this refuses headers that ask for absurd dictionaries.
    private static let decoderMemoryLimit: UInt64 = 1 << 30
    /// LZMA_CONCATENATED from <lzma/container.h> (a UINT32_C macro, which
    /// Swift does not import).
    private static let concatenatedFlag: UInt32 = 0x08

    private let stream: UnsafeMutablePointer<lzma_stream>
    let isCompressing: Bool
    /// The decoder itself handles concatenated streams (LZMA_CONCATENATED).
    var concatenation: Concatenation { .rejectTrailingData }

    init(compressing: Bool) throws(CompressorError) {
        let stream = UnsafeMutablePointer<lzma_stream>.allocate(capacity: 1)
        stream.initialize(to: lzma_stream())  // all-zero is LZMA_STREAM_INIT
        // Preset 6 with CRC64 is what Python's lzma.compress() writes.
        let rc = compressing
            ? lzma_easy_encoder(stream, 6, LZMA_CHECK_CRC64)
            : lzma_stream_decoder(stream, Self.decoderMemoryLimit, Self.concatenatedFlag)
        guard rc == LZMA_OK else {
            lzma_end(stream)
            stream.deinitialize(count: 1)
            stream.deallocate()
            throw CompressorError(
                compressor: .lzma,
                message: "\(compressing ? "lzma_easy_encoder" : "lzma_stream_decoder") failed (\(lzmaCodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = compressing
    }

    deinit {
        lzma_end(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    static func compressedBound(_ count: Int) -> Int {
        let bound = lzma_stream_buffer_bound(count)
        // 0 means overflow; fall back to a guess and let the buffer grow.
        return bound == 0 || bound > Int.max ? count : Int(bound)
    }

    func step(input: UnsafePointer<UInt8>?, inputCount: Int,
              output: UnsafeMutablePointer<UInt8>, outputCount: Int,
              isFinalInput: Bool) -> (consumed: Int, produced: Int, status: StepStatus) {
        stream.pointee.next_in = input
        stream.pointee.avail_in = inputCount
        stream.pointee.next_out = output
        stream.pointee.avail_out = outputCount
        // The whole input is always at hand, so finishing is always correct;
        // with LZMA_CONCATENATED the decoder only ends on LZMA_FINISH.
        let rc = lzma_code(stream, isFinalInput ? LZMA_FINISH : LZMA_RUN)
        let consumed = inputCount - stream.pointee.avail_in
        let produced = outputCount - stream.pointee.avail_out
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil

        let status: StepStatus
        switch rc {
        case LZMA_OK, LZMA_BUF_ERROR:
            status = .progress
        case LZMA_STREAM_END:
            status = .streamEnd
        case LZMA_FORMAT_ERROR:
            status = .failure("invalid data: not an xz stream (LZMA_FORMAT_ERROR)")
        case LZMA_DATA_ERROR:
            status = .failure("invalid or corrupt data (LZMA_DATA_ERROR)")
        case LZMA_OPTIONS_ERROR:
            status = .failure("unsupported xz options (LZMA_OPTIONS_ERROR)")
        case LZMA_MEMLIMIT_ERROR:
            status = .failure("stream needs more than \(Self.decoderMemoryLimit >> 20) MiB of decoder memory"
                              + " (LZMA_MEMLIMIT_ERROR)")
        case LZMA_MEM_ERROR:
            status = .failure("out of memory (LZMA_MEM_ERROR)")
        default:
            status = .failure("lzma_code failed (\(lzmaCodeName(rc)))")
        }
        return (consumed, produced, status)
    }

    func restart() -> String? {
        "internal error: restart is not used for xz"
    }
}

private func lzmaCodeName(_ code: lzma_ret) -> String {
    switch code {
    case LZMA_OK: return "LZMA_OK"
    case LZMA_STREAM_END: return "LZMA_STREAM_END"
    case LZMA_NO_CHECK: return "LZMA_NO_CHECK"
    case LZMA_UNSUPPORTED_CHECK: return "LZMA_UNSUPPORTED_CHECK"
    case LZMA_GET_CHECK: return "LZMA_GET_CHECK"
    case LZMA_MEM_ERROR: return "LZMA_MEM_ERROR"
    case LZMA_MEMLIMIT_ERROR: return "LZMA_MEMLIMIT_ERROR"
    case LZMA_FORMAT_ERROR: return "LZMA_FORMAT_ERROR"
    case LZMA_OPTIONS_ERROR: return "LZMA_OPTIONS_ERROR"
    case LZMA_DATA_ERROR: return "LZMA_DATA_ERROR"
    case LZMA_BUF_ERROR: return "LZMA_BUF_ERROR"
    case LZMA_PROG_ERROR: return "LZMA_PROG_ERROR"
    default: return "lzma error \(code.rawValue)"
    }
}
