#if canImport(Glibc)
import Glibc
#endif
import CCompression
import SergeantCore

// MARK: - Bzip2Codec

/// libbz2's streams: ``Compressor/bzip2``, 900 kB blocks.
struct Bzip2Codec: ~Copyable, StreamCodec {
    static var maximumChunk: Int { Int(UInt32.max) }

    /// Heap-allocated: libbz2 keeps a back-pointer to the stream and rejects
    /// calls if the bz_stream has moved.
    private let stream: UnsafeMutablePointer<bz_stream>
    let isCompressing: Bool
    var concatenation: Concatenation { .members }

    init(compressing: Bool) throws(CompressorError) {
        let stream = StreamState.allocate(bz_stream())  // bzalloc/bzfree/opaque = NULL: use malloc
        // blockSize100k 9 (Python's default level), verbosity 0, default workFactor.
        let rc = compressing ? BZ2_bzCompressInit(stream, 9, 0, 0) : BZ2_bzDecompressInit(stream, 0, 0)
        guard rc == BZ_OK else {
            StreamState.release(stream)
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
        StreamState.release(stream)
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

/// The name of a libbz2 return code, for error messages.
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
