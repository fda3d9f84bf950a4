import CHiredis

// MARK: - RedisReplyBuilder

/// Builds ``RedisReply`` values straight from hiredis's parser, through the reader's object
/// functions (`redisReplyObjectFunctions`): no `redisReply` is allocated, copied and freed
/// per element, so a pop of 1,000 tasks makes 1,000 byte arrays and nothing else. hiredis
/// calls the functions in wire order, a container before its elements; the builder keeps
/// the containers still being filled.
final class RedisReplyBuilder {
    /// Arrays whose elements are still coming, innermost last.
    private var open: [(elements: [RedisReply], count: Int)] = []
    /// The last complete top-level reply, until ``take()``.
    private var complete: RedisReply?

    /// The reply hiredis finished, once.
    func take() -> RedisReply? {
        defer { complete = nil }
        return complete
    }

    /// Forgets a reply cut short (a parse error, a reset reader).
    func clear() {
        open.removeAll()
        complete = nil
    }

    fileprivate func add(_ reply: RedisReply) {
        var reply = reply
        while !open.isEmpty {
            let last = open.count - 1
            open[last].elements.append(reply)
            guard open[last].elements.count == open[last].count else { return }
            reply = .array(open.removeLast().elements)
        }
        complete = reply
    }

    fileprivate func openArray(_ count: Int) {
        guard count > 0 else { return add(.array([])) }
        var elements: [RedisReply] = []
        // The count is the server's word, not yet backed by bytes: a stream claiming an array of
        // 372 million elements must not allocate gigabytes before they come (the redis-reply
        // fuzz target found it). Larger arrays grow as their elements arrive.
        elements.reserveCapacity(min(count, Self.largestReservation))
        open.append((elements, count))
    }

    /// Elements reserved ahead for an array (a pop of 1,000 tasks reserves once).
    static let largestReservation = 4096

    /// What hiredis gets back for an object: any non-NULL pointer (NULL means out of memory).
    /// The objects live in the builder, so hiredis has nothing to free.
    fileprivate static var token: UnsafeMutableRawPointer? { UnsafeMutableRawPointer(bitPattern: 1) }

    /// The object functions, shared by every reader; `privdata` of a reader is its builder.
    nonisolated(unsafe) static let functions: UnsafeMutablePointer<redisReplyObjectFunctions> = {
        let functions = UnsafeMutablePointer<redisReplyObjectFunctions>.allocate(capacity: 1)
        functions.initialize(to: redisReplyObjectFunctions(
            createString: { task, string, length in
                guard let task else { return nil }
                let builder = RedisReplyBuilder.of(task)
                let bytes = UnsafeRawBufferPointer(start: string, count: length)
                switch task.pointee.type {
                case REDIS_REPLY_STATUS:
                    // The statuses of every write and transaction, without decoding them each time.
                    if bytes.elementsEqual("OK".utf8) {
                        builder.add(.status("OK"))
                    } else if bytes.elementsEqual("QUEUED".utf8) {
                        builder.add(.status("QUEUED"))
                    } else {
                        builder.add(.status(String(decoding: bytes, as: UTF8.self)))
                    }
                case REDIS_REPLY_ERROR:
                    builder.add(.error(String(decoding: bytes, as: UTF8.self)))
                default:
                    builder.add(.bytes(length > 0 ? Array(bytes) : []))
                }
                return RedisReplyBuilder.token
            },
            createArray: { task, count in
                guard let task else { return nil }
                RedisReplyBuilder.of(task).openArray(Int(count))
                return RedisReplyBuilder.token
            },
            createInteger: { task, value in
                guard let task else { return nil }
                RedisReplyBuilder.of(task).add(.integer(Int64(value)))
                return RedisReplyBuilder.token
            },
            createNil: { task in
                guard let task else { return nil }
                RedisReplyBuilder.of(task).add(.null)
                return RedisReplyBuilder.token
            },
            freeObject: { _ in }
        ))
        return functions
    }()

    private static func of(_ task: UnsafePointer<redisReadTask>) -> RedisReplyBuilder {
        Unmanaged<RedisReplyBuilder>.fromOpaque(task.pointee.privdata!).takeUnretainedValue()
    }
}
