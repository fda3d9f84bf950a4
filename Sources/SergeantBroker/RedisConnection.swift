#if canImport(Glibc)
import Glibc
#endif
import CHiredis
import Logging
import SergeantCore

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
}

// MARK: - LuaScript

/// A Lua script run with EVALSHA; connections remember its SHA1 by the object's identity, so
/// calling it costs no hashing of its text.
public final class LuaScript: Sendable {
    /// The script's text.
    public let source: String

    /// Creates a script.
    public init(_ source: String) {
        self.source = source
    }
}

// MARK: - RedisConnection

/// One hiredis connection to one node. A dropped connection is re-established with a
/// logged, bounded exponential backoff (with jitter) before the command is tried again.
public final class RedisConnection {
    /// The node this connection talks to.
    public let node: RedisNode
    /// How long to keep trying to reconnect before a command fails.
    public var reconnectTimeout: Double
    private var context: UnsafeMutablePointer<redisContext>?
    private let logger: Logger
    /// SHA1 of each Lua script loaded on this connection, by script identity.
    private var scripts: [ObjectIdentifier: [UInt8]] = [:]

    /// Creates a connection; it connects on first use.
    public init(node: RedisNode, logger: Logger, reconnectTimeout: Double = 30) {
        self.node = node
        self.logger = logger
        self.reconnectTimeout = reconnectTimeout
    }

    deinit {
        if let context { redisFree(context) }
    }

    // MARK: Commands

    /// Runs one command.
    public func command(_ arguments: [[UInt8]]) throws(BrokerError) -> RedisReply {
        try pipeline([arguments])[0]
    }

    /// Runs one command given as strings.
    public func command(_ arguments: String...) throws(BrokerError) -> RedisReply {
        try command(arguments.map { Array($0.utf8) })
    }

    /// Sends every command, then reads every reply: one round trip.
    public func pipeline(_ commands: [[[UInt8]]]) throws(BrokerError) -> [RedisReply] {
        var lastError = ""
        let deadline = unixTime() + reconnectTimeout
        var delay = 0.05
        var attempt = 0
        while true {
            attempt += 1
            do {
                let context = try connected()
                return try send(commands, on: context)
            } catch {
                lastError = error.message
                disconnect()
            }
            if unixTime() + delay > deadline {
                throw BrokerError("redis \(node) is unreachable: \(lastError); gave up after \(attempt) attempts"
                    + " in \(Int(reconnectTimeout)) s. Check that redis-server runs there (or pass --redis redis://HOST:PORT/DB)")
            }
            logger.warning("redis \(node): \(lastError); reconnecting in \(Int(delay * 1000)) ms (attempt \(attempt))")
            pause(seconds: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, 2)
        }
    }

    /// Runs a Lua script with EVALSHA (loading it once per connection), so its text is not
    /// sent on every call.
    public func evaluate(_ script: LuaScript, keys: [String], arguments: [[UInt8]]) throws(BrokerError) -> RedisReply {
        let id = ObjectIdentifier(script)
        for _ in 0..<2 {
            let sha: [UInt8]
            if let known = scripts[id] {
                sha = known
            } else {
                guard case .bytes(let loaded) = try command("SCRIPT", "LOAD", script.source) else {
                    throw BrokerError("redis \(node) did not load a Lua script")
                }
                sha = loaded
                scripts[id] = loaded
            }
            var call: [[UInt8]] = [Array("EVALSHA".utf8), sha, Array(String(keys.count).utf8)]
            call += keys.map { Array($0.utf8) }
            call += arguments
            let reply = try command(call)
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                scripts[id] = nil
                continue
            }
            return reply
        }
        throw BrokerError("redis \(node) keeps forgetting a Lua script")
    }

    // MARK: Connection

    private func connected() throws(BrokerError) -> UnsafeMutablePointer<redisContext> {
        if let context { return context }
        let timeout = timeval(tv_sec: 10, tv_usec: 0)
        guard let context = redisConnectWithTimeout(node.host, Int32(node.port), timeout) else {
            throw BrokerError("cannot allocate a hiredis context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorString(context)
            redisFree(context)
            throw BrokerError("cannot connect: \(message)")
        }
        self.context = context
        _ = redisSetTimeout(context, timeval(tv_sec: 60, tv_usec: 0))
        _ = redisEnableKeepAlive(context)
        var setup: [[[UInt8]]] = []
        if let password = node.password { setup.append([Array("AUTH".utf8), Array(password.utf8)]) }
        if node.database != 0 { setup.append([Array("SELECT".utf8), Array(String(node.database).utf8)]) }
        if !setup.isEmpty {
            for reply in try send(setup, on: context) {
                if case .error(let message) = reply {
                    disconnect()
                    // Never echo the password: only the server's answer.
                    throw BrokerError("redis \(node) refused the connection setup (AUTH/SELECT): \(message)")
                }
            }
        }
        return context
    }

    private func disconnect() {
        if let context { redisFree(context) }
        context = nil
        scripts = [:]
    }

    private func send(_ commands: [[[UInt8]]], on context: UnsafeMutablePointer<redisContext>) throws(BrokerError) -> [RedisReply] {
        for arguments in commands {
            let status = Self.append(arguments, to: context)
            guard status == REDIS_OK else { throw BrokerError(Self.errorString(context)) }
        }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
                throw BrokerError(Self.errorString(context))
            }
            let reply = raw.assumingMemoryBound(to: redisReply.self)
            replies.append(Self.convert(reply))
            freeReplyObject(raw)
        }
        return replies
    }

    private static func append(_ arguments: [[UInt8]], to context: UnsafeMutablePointer<redisContext>) -> Int32 {
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(0) { $0 + $1.count + 1 })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            flat.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        if flat.isEmpty { flat.append(0) }
        return flat.withUnsafeBufferPointer { buffer in
            var pointers: [UnsafePointer<CChar>?] = []
            pointers.reserveCapacity(arguments.count)
            var offset = 0
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            for length in lengths {
                pointers.append(base + offset)
                offset += length
            }
            return pointers.withUnsafeMutableBufferPointer { argv in
                lengths.withUnsafeBufferPointer { argvlen in
                    redisAppendCommandArgv(context, Int32(arguments.count), argv.baseAddress, argvlen.baseAddress)
                }
            }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bytes(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] { elements.append(convert(element)) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? "connection error \(context.pointee.err)" : message
    }
}
