// TEMPORARY STUB: replaced by the real implementation.
public enum Compressor: String, Codable, Sendable, CaseIterable {
    case zlib, gzip, bzip2, lzma
    public func compress(_ data: [UInt8]) throws(CompressorError) -> [UInt8] { data }
    public func decompress(_ data: [UInt8], maximumSize: Int = 256 << 20) throws(CompressorError) -> [UInt8] { data }
}
public struct CompressorError: Error, CustomStringConvertible, Sendable { public let compressor: Compressor; public let message: String; public var description: String { message } }
