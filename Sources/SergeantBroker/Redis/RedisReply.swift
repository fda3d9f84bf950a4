import CHiredis
#if canImport(Glibc)
import Glibc
#endif

// MARK: - RedisReply

/// One Redis reply, copied out of hiredis.
public enum RedisReply: Sendable, Equatable {
    /// A bulk string.
    case bytes([UInt8])
    /// A status line such as OK.
    case status(String)
    /// An integer.
    case integer(Int64)
    /// An array.
    case array([RedisReply])
    /// Nil.
    case null
    /// An error line from the server.
    case error(String)

    /// The integer, when this is one.
    var integer: Int64? {
        if case .integer(let value) = self { return value }
        return nil
    }

    /// True for an error reply.
    var isError: Bool {
        if case .error = self { return true }
        return false
    }
}

// MARK: Copying from hiredis

extension RedisReply {
    /// Copies a reply object of hiredis's reader (which the caller still frees).
    init(copying reply: UnsafeMutablePointer<redisReply>) {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            self = .bytes(Self.bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            // The statuses of every write and transaction, without decoding them each time.
            if value.len == 2 && memcmp(value.str, "OK", 2) == 0 {
                self = .status("OK")
            } else if value.len == 6 && memcmp(value.str, "QUEUED", 6) == 0 {
                self = .status("QUEUED")
            } else {
                self = .status(Self.string(value.str, value.len))
            }
        case REDIS_REPLY_ERROR:
            self = .error(Self.string(value.str, value.len))
        case REDIS_REPLY_INTEGER:
            self = .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] { elements.append(RedisReply(copying: element)) }
            }
            self = .array(elements)
        default:
            self = .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    private static func string(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> String {
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }
}
