#if canImport(Glibc)
import Glibc
#endif
import CHiredis

// MARK: - RedisReplyReader

/// Redis's wire format (RESP) read from bytes that do not come from a connection, such as
/// redis-server's append-only file (a sequence of commands, each an array of bulk strings),
/// with hiredis's reply parser: the one ``RedisConnection`` reads its replies with.
public final class RedisReplyReader {
    private let reader: UnsafeMutablePointer<redisReader>
    private var fed = 0

    /// Where the next reply starts, in bytes from the start of everything fed. (hiredis
    /// consumes the start of a reply before all of it has come, so this moves only when a
    /// whole reply has been read.)
    public private(set) var offset = 0

    /// Creates an empty reader.
    public init() {
        guard let reader = redisReaderCreate() else { fatalError("cannot allocate a hiredis reader") }
        self.reader = reader
    }

    deinit {
        redisReaderFree(reader)
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
        let fed = bytes.withUnsafeBytes { buffer in Result { () throws(BrokerError) in try feed(buffer) } }
        try fed.get()
    }

    /// The next complete reply; nil when the bytes fed so far end before one does.
    /// Throws at bytes that are not RESP.
    public func next() throws(BrokerError) -> RedisReply? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else {
            throw BrokerError("not RESP at byte \(offset): \(errorMessage)")
        }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        offset = fed - (reader.pointee.len - reader.pointee.pos)
        return RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private var errorMessage: String {
        withUnsafeBytes(of: reader.pointee.errstr) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
