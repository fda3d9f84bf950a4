#if canImport(Glibc)
import Glibc
#endif
import CCompression
import SergeantCore

// MARK: - LzmaCodec

/// liblzma's `.xz` streams: ``Compressor/lzma``, preset 6 with a CRC64 check.
struct LzmaCodec: ~Copyable, StreamCodec {
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
        let stream = StreamState.allocate(lzma_stream())  // all-zero is LZMA_STREAM_INIT
        // Preset 6 with CRC64 is what Python's lzma.compress() writes.
        let rc = compressing
            ? lzma_easy_encoder(stream, 6, LZMA_CHECK_CRC64)
            : lzma_stream_decoder(stream, Self.decoderMemoryLimit, Self.concatenatedFlag)
        guard rc == LZMA_OK else {
            lzma_end(stream)
            StreamState.release(stream)
            throw CompressorError(
                compressor: .lzma,
                message: "\(compressing ? "lzma_easy_encoder" : "lzma_stream_decoder") failed (\(lzmaCodeName(rc)))")
        }
        self.stream = stream
        self.isCompressing = compressing
    }

    deinit {
        lzma_end(stream)
        StreamState.release(stream)
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

/// The name of a liblzma return code, for error messages.
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
