// MARK: - StreamCodec

/// What one call into a C library's streaming function reported.
enum StepStatus {
    /// Some work was done (possibly none, which the driver checks); call again.
    case progress
    /// The end-of-stream marker was reached (or written).
    case streamEnd
    /// The library reported an error; the string says which.
    case failure(String)
}

/// How a decoder deals with bytes left over after an end-of-stream marker.
enum Concatenation {
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
protocol StreamCodec: ~Copyable {
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

// MARK: - StreamState

/// Heap storage for a C library's stream state. zlib, libbz2 and liblzma keep a back-pointer
/// to their stream and reject calls once it has moved, so each codec keeps its state here:
/// zero-filled at first (each library's "no state yet, allocate with malloc" value) and
/// released after the library's own end call.
enum StreamState {
    /// A stream state holding `initial` (the C struct's zero value).
    static func allocate<State>(_ initial: State) -> UnsafeMutablePointer<State> {
        let stream = UnsafeMutablePointer<State>.allocate(capacity: 1)
        stream.initialize(to: initial)
        return stream
    }

    /// Frees a state from ``allocate(_:)`` (after the library's end call).
    static func release<State>(_ stream: UnsafeMutablePointer<State>) {
        stream.deinitialize(count: 1)
        stream.deallocate()
    }
}
