import CHiredis

// MARK: - RedisReplyReader

/// hiredis's reply parser (its reader API: `redisReaderFeed`, `redisReaderGetReply`) over the
/// bytes a ``RedisStream`` delivers: the same parsing and reply objects as `redisGetReply`,
/// with the socket owned by the stream, so that any stream (TLS included) can carry replies.
struct RedisReplyReader: ~Copyable {
    private var reader: UnsafeMutablePointer<redisReader>
    /// What one read of the stream takes at most; hiredis reads 16 KiB at a time as well.
    private let chunk: UnsafeMutableRawBufferPointer
    static let chunkSize = 16 * 1024

    init() {
        reader = Self.makeReader()
        chunk = .allocate(byteCount: Self.chunkSize, alignment: 16)
    }

    deinit {
        redisReaderFree(reader)
        chunk.deallocate()
    }

    private static func makeReader() -> UnsafeMutablePointer<redisReader> {
        guard let reader = redisReaderCreate() else { fatalError("hiredis could not allocate a reply reader") }
        return reader
    }

    /// Drops whatever was read of a stream that failed (part of a reply, a parse error), for
    /// the next stream to start clean.
    mutating func reset() {
        redisReaderFree(reader)
        reader = Self.makeReader()
    }

    /// The next reply: parsed from bytes read earlier if they hold it, else read from `stream`.
    func next(from stream: any RedisStream) throws(BrokerError) -> RedisReply {
        while true {
            var raw: UnsafeMutableRawPointer?
            guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw BrokerError(errorMessage) }
            if let raw {
                defer { freeReplyObject(raw) }
                return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
            }
            let count = try stream.read(into: chunk)
            guard redisReaderFeed(reader, chunk.baseAddress!.assumingMemoryBound(to: CChar.self), count) == REDIS_OK else {
                throw BrokerError(errorMessage)
            }
        }
    }

    private var errorMessage: String {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? "unreadable reply (hiredis error \(reader.pointee.err))" : "unreadable reply: \(message)"
    }
}
