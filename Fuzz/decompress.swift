// libFuzzer target: each decompressor (zlib, gzip, bzip2, lzma), as the broker runs them on
// every popped task. The first byte picks the compressor and the decompressed-size limit
// (1 KiB to 1 MiB, so bombs reach it fast); the rest is the stream.
//
// Checks on every input: no crash, no sanitizer report; nothing larger than the limit comes
// back; what decompresses compresses and decompresses to the same bytes.
import SergeantCompression
import SergeantCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDecompress(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let selector = Int(data[0])
    let compressor = Compressor.allCases[selector % Compressor.allCases.count]
    let limit = 1024 << ((selector / 4) % 11)
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let output = try? compressor.decompress(stream, maximumSize: limit) else { return 0 }
    guard output.count <= limit else {
        fatalError("\(compressor) returned \(output.count) bytes, over maximumSize \(limit)")
    }
    do {
        let again = try compressor.decompress(try compressor.compress(output), maximumSize: limit)
        guard again == output else { fatalError("\(compressor) round trip changed \(output.count) bytes") }
    } catch {
        fatalError("\(compressor) cannot round-trip its own output of \(output.count) bytes: \(error)")
    }
    return 0
}
