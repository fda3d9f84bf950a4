// libFuzzer target: Redis reply parsing (RedisReplyReader over hiredis's reader, RedisReply's
// copy of each reply), which reads every reply of redis-server and append-only files.
//
// The first byte sets a chunk size; the rest is fed whole to one reader and in chunks to
// another. Checks on every input: no crash or sanitizer report; both readers read the same
// replies and fail alike; the offset of the next reply never goes back or past what was fed.
import SergeantBroker

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedisReply(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    let chunk = Int(data[0]) + 1
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    let whole = readAll(bytes, chunk: bytes.count)
    let chunked = readAll(bytes, chunk: chunk)
    guard whole.replies == chunked.replies, whole.failed == chunked.failed else {
        fatalError("fed whole: \(whole), in chunks of \(chunk): \(chunked)")
    }
    return 0
}

private func readAll(_ bytes: [UInt8], chunk: Int) -> (replies: [RedisReply], failed: Bool) {
    let reader = RedisReplyReader()
    var replies: [RedisReply] = []
    var fed = 0
    var offset = 0
    while fed < bytes.count {
        let end = min(bytes.count, fed + max(chunk, 1))
        do { try reader.feed(Array(bytes[fed..<end])) } catch { return (replies, true) }
        fed = end
        while true {
            let reply: RedisReply?
            do { reply = try reader.next() } catch { return (replies, true) }
            guard let reply else { break }
            guard reader.offset >= offset, reader.offset <= fed else {
                fatalError("offset \(reader.offset) after \(offset), with \(fed) bytes fed")
            }
            offset = reader.offset
            replies.append(reply)
        }
    }
    return (replies, false)
}
