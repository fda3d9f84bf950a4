import SergeantCore

// MARK: - Streaming driver

/// Feeds all of `input` through `codec`, collecting output in a buffer that
/// grows by doubling. With `outputLimit`, refuses to produce more than that
/// many bytes.
func runCodec<C: StreamCodec & ~Copyable>(
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
