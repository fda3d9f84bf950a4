// MARK: - RedisReply

/// One Redis reply, as hiredis's parser reads it (see ``RedisReplyBuilder``).
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
