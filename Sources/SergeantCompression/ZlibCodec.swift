#if canImport(Glibc)
import Glibc
#endif
import CCompression
import SergeantCore

// MARK: - ZlibCodec

/// zlib's deflate and inflate streams: ``Compressor/zlib`` (RFC 1950) and, with
/// windowBits + 16, ``Compressor/gzip`` (RFC 1952).
struct ZlibCodec: ~Copyable, StreamCodec {
    static var maximumChunk: Int { Int(UInt32.max) }

    /// Heap-allocated: zlib keeps a back-pointer to the stream and rejects
    /// calls if the z_stream has moved.
    private let stream: UnsafeMutablePointer<z_stream>
    let isCompressing: Bool
    let concatenation: Concatenation

    init(owner: Compressor, compressingAtLevel level: Int32, windowBits: Int32) throws(CompressorError) {
        let stream = StreamState.allocate(z_stream())  // zalloc/zfree/opaque = Z_NULL: use malloc
        let rc = deflateInit2_(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY,
                               ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            StreamState.release(stream)
            throw CompressorError(compressor: owner, message: "deflateInit2 failed (\(zlibCodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = true
        self.concatenation = .rejectTrailingData
    }

    init(owner: Compressor, decompressingWithWindowBits windowBits: Int32) throws(CompressorError) {
        let stream = StreamState.allocate(z_stream())  // zalloc/zfree/opaque = Z_NULL: use malloc
        let rc = inflateInit2_(stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else {
            StreamState.release(stream)
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
        StreamState.release(stream)
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

/// The name of a zlib return code, for error messages.
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
