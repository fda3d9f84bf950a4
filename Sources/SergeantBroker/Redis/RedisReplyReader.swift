#if canImport(Glibc)
import Glibc
#endif
import CHiredis

// MARK: - RedisReplyReader

/// Redis's wire format (RESP) parsed by hiredis's reader API (`redisReaderFeed`,
/// `redisReaderGetReply`): the replies of a ``RedisConnection``, read from whatever stream
/// carries them (plain TCP today, TLS alike), and bytes that come from no connection, such as
/// redis-server's append-only file (a sequence of commands, each an array of bulk strings).
///
/// ```swift
/// let reader = RedisReplyReader()
/// try reader.feed(Array("*1\r\n$4\r\nPING\r\n".utf8))
/// try reader.next()   // .array([.bytes("PING")])
/// ```
public final class RedisReplyReader {
    private var reader: UnsafeMutablePointer<redisReader>
    /// Where hiredis's parser puts what it reads (its object functions): no hiredis reply
    /// object per element.
    private let builder = RedisReplyBuilder()
    /// Bytes fed so far.
    private var fed = 0
    /// What one read of a stream takes at most; hiredis reads 16 KiB at a time as well.
    private let chunk: UnsafeMutableRawBufferPointer
    static let chunkSize = 16 * 1024

    /// Where the next reply starts, in bytes from the start of everything fed. (hiredis
    /// consumes the start of a reply before all of it has come, so this moves only when a
    /// whole reply has been read.)
    public private(set) var offset = 0

    /// Creates an empty reader.
    public init() {
        reader = Self.makeReader(builder)
        chunk = .allocate(byteCount: Self.chunkSize, alignment: 16)
    }

    deinit {
        redisReaderFree(reader)
        chunk.deallocate()
    }

    private static func makeReader(_ builder: RedisReplyBuilder) -> UnsafeMutablePointer<redisReader> {
        guard let reader = redisReaderCreateWithFunctions(RedisReplyBuilder.functions) else {
            fatalError("hiredis could not allocate a reply reader")
        }
        // The builder outlives the reader: both belong to this object.
        reader.pointee.privdata = Unmanaged.passUnretained(builder).toOpaque()
        return reader
    }

    /// Drops whatever was read of a stream that failed (part of a reply, a parse error), for
    /// the next stream to start clean.
    func reset() {
        redisReaderFree(reader)
        builder.clear()
        reader = Self.makeReader(builder)
        fed = 0
        offset = 0
    }

    /// Appends `bytes` to what is to be read.
    public func feed(_ bytes: UnsafeRawBufferPointer) throws(BrokerError) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        guard redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) == REDIS_OK else {
            throw BrokerError("cannot buffer \(bytes.count) bytes of RESP: \(errorMessage)")
        }
        fed += bytes.count
    }

    /// Appends `bytes` to what is to be read.
    public func feed(_ bytes: [UInt8]) throws(BrokerError) {
        let result = bytes.withUnsafeBytes { buffer in Result { () throws(BrokerError) in try feed(buffer) } }
        try result.get()
    }

    /// The next complete reply of the bytes fed so far; nil when they end before one does.
    /// Throws at bytes that are not RESP.
    public func next() throws(BrokerError) -> RedisReply? {
        if let status = nextCommonStatus() { return status }
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            builder.clear()
            throw BrokerError("not RESP at byte \(offset): \(errorMessage)")
        }
        // Not NULL once a whole reply was read; the reply itself is the builder's.
        guard raw != nil else { return nil }
        offset = fed - (reader.pointee.len - reader.pointee.pos)
        return builder.take() ?? .null
    }

    /// `+OK` or `+QUEUED` when the unread bytes start with one, taken without hiredis: every
    /// command of a transaction answers one (six of the seven replies of an at-least-once pop),
    /// and a call into hiredis's parser and out to ``RedisReplyBuilder`` per status costs more
    /// than comparing a few bytes. Only between replies (hiredis is not inside one).
    @inline(__always)
    private func nextCommonStatus() -> RedisReply? {
        let state = reader.pointee
        guard state.ridx == -1, let buffer = state.buf, state.len - state.pos >= 5 else { return nil }
        let start = UnsafeRawPointer(buffer + state.pos)
        let left = state.len - state.pos
        let reply: RedisReply
        let length: Int
        if memcmp(start, Self.ok.utf8Start, 5) == 0 {
            (reply, length) = (.status("OK"), 5)
        } else if left >= 9 && memcmp(start, Self.queued.utf8Start, 9) == 0 {
            (reply, length) = (.status("QUEUED"), 9)
        } else {
            return nil
        }
        reader.pointee.pos += length
        offset = fed - (state.len - state.pos - length)
        return reply
    }

    private static let ok: StaticString = "+OK\r\n"
    private static let queued: StaticString = "+QUEUED\r\n"

    /// The next reply: parsed from bytes read earlier if they hold it, else read from `stream`.
    func next(from stream: any RedisStream) throws(BrokerError) -> RedisReply {
        while true {
            if let reply = try next() { return reply }
            let count = try stream.read(into: chunk)
            try feed(UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }

    private var errorMessage: String {
        let message = withUnsafeBytes(of: reader.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? "hiredis error \(reader.pointee.err)" : message
    }
}
