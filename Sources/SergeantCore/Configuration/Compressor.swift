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
    // The codecs are in SergeantCompression (`compress`, `decompress`): a worker plugin
    // names a compressor in its configuration but never runs one, so it does not link them.
}
