#if canImport(Glibc)
import Glibc
#endif
import CHiredis
import Logging
import SergeantCore

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
    /// The commands of the current round trip in the wire format, reused between calls so a
    /// command costs no allocation of its own.
    @exclusivity(unchecked) private var request = RequestBuffer()

    /// Test hook: makes the next round trip lose its connection, either before
    /// anything is sent or after every command was sent and before any reply is read (the
    /// reply is lost, the commands ran), after which the node refuses connections for
    /// `unreachableFor` seconds. Settable from tests only (`@testable import`).
    enum SimulatedFailure: Equatable {
        case beforeSending
        case afterSending(unreachableFor: Double)
    }
    var simulatedFailure: SimulatedFailure?
    /// Until when ``simulatedFailure`` keeps the node unreachable.
    private var simulatedOutageEnd = 0.0

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
        request.reset()
        request.append(arguments)
        return try roundTrip()
    }

    /// Runs one command given as strings.
    public func command(_ arguments: String...) throws(BrokerError) -> RedisReply {
        request.reset()
        request.append(arguments)
        return try roundTrip()
    }

    /// Runs one command that `encode` writes straight into the request (``RequestBuffer``
    /// `begin` and `add`), without arrays of arguments.
    func command(_ encode: (inout RequestBuffer) -> Void) throws(BrokerError) -> RedisReply {
        request.reset()
        encode(&request)
        precondition(request.commands == 1, "one command")
        return try roundTrip()
    }

    /// Sends every command, then reads every reply: one round trip. After a connection
    /// error the commands are sent again on a new connection, so they must be safe to repeat.
    public func pipeline(_ commands: [[[UInt8]]]) throws(BrokerError) -> [RedisReply] {
        try pipeline(commands, until: nil)
    }

    /// ``pipeline(_:)`` that stops reconnecting at `deadline` (unix time) instead of
    /// ``reconnectTimeout`` from now: for a step of an operation that has its own deadline.
    func pipeline(_ commands: [[[UInt8]]], until deadline: Double?) throws(BrokerError) -> [RedisReply] {
        request.reset()
        for arguments in commands { request.append(arguments) }
        return try roundTrip(commands: commands.count, until: deadline)
    }

    /// Like ``pipeline(_:)``, but never sends the commands twice: for commands that must not
    /// run twice (a MULTI/EXEC transaction that acknowledges and pops). It connects (with the
    /// reconnect backoff) as the others do, and throws when no connection could be made, in
    /// which case nothing was sent. Once the commands went out, a failure returns nil: the
    /// commands may or may not have run, and the caller has to find out from the data.
    public func pipelineOnce(_ commands: [[[UInt8]]]) throws(BrokerError) -> [RedisReply]? {
        try pipelineOnce(until: nil) { request in
            for arguments in commands { request.append(arguments) }
        }
    }

    /// ``pipelineOnce(_:)`` for commands that `encode` writes straight into the request; it
    /// stops reconnecting at `deadline` (unix time) when given.
    func pipelineOnce(until deadline: Double?, _ encode: (inout RequestBuffer) -> Void) throws(BrokerError) -> [RedisReply]? {
        request.reset()
        encode(&request)
        let commands = request.commands
        defer { request.trim() }
        // Until its last byte is handed to the socket, a transaction cannot have run (it runs
        // at EXEC, its last command): such failures reconnect and send it again. A connection
        // the server closed while idle is replaced first, so that a dead server does not
        // leave a transaction of unknown outcome behind.
        let context = try withReconnects(until: deadline) { () throws(BrokerError) -> UnsafeMutablePointer<redisContext> in
            let context = try connected()
            if Self.peerClosed(context) { throw BrokerError("the server closed the connection") }
            if simulatedFailure == .beforeSending {
                simulatedFailure = nil
                throw BrokerError("simulated connection loss before sending")
            }
            if simulatedFailure == nil { try write(request, to: context) }
            return context
        }
        do throws(BrokerError) {
            if simulatedFailure != nil { try simulateFailure(request, commands: commands, on: context) }
            var replies: [RedisReply] = []
            replies.reserveCapacity(commands)
            for _ in 0..<commands { replies.append(try readReply(on: context)) }
            return replies
        } catch {
            logger.warning("redis \(node): \(error.message); the outcome of the commands is unknown")
            disconnect()
            return nil
        }
    }

    /// True when the server has closed `context`'s connection (nothing is waiting to be read
    /// on a connection between two round trips, so a readable socket means end of stream).
    private static func peerClosed(_ context: UnsafeMutablePointer<redisContext>) -> Bool {
        var byte: UInt8 = 0
        let peeked = recv(context.pointee.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
        return peeked == 0 || (peeked < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
    }

    /// Sends the commands in ``request`` (reconnecting and resending after a failure).
    private func roundTrip(commands: Int, until deadline: Double? = nil) throws(BrokerError) -> [RedisReply] {
        defer { request.trim() }
        return try withReconnects(until: deadline) { () throws(BrokerError) in
            let context = try connected()
            if simulatedFailure != nil { try simulateFailure(request, commands: commands, on: context) }
            return try send(request, commands: commands, on: context)
        }
    }

    /// Sends the one command in ``request`` (reconnecting and resending after a failure).
    private func roundTrip() throws(BrokerError) -> RedisReply {
        defer { request.trim() }
        return try withReconnects { () throws(BrokerError) in
            let context = try connected()
            if simulatedFailure != nil { try simulateFailure(request, commands: 1, on: context) }
            return try sendOne(request, on: context)
        }
    }

    /// Runs `body` until it succeeds, disconnecting after each failure and retrying with
    /// the logged backoff, for at most ``reconnectTimeout`` seconds (or until `deadline`).
    private func withReconnects<T>(until deadline: Double? = nil, _ body: () throws(BrokerError) -> T) throws(BrokerError) -> T {
        var lastError = ""
        let deadline = deadline ?? unixTime() + reconnectTimeout
        var delay = 0.05
        var attempt = 0
        while true {
            attempt += 1
            do {
                return try body()
            } catch {
                lastError = error.message
                disconnect()
            }
            if unixTime() + delay > deadline {
                throw BrokerError("redis \(node) is unreachable: \(lastError); gave up after \(attempt) attempts"
                    + " in \(Int(reconnectTimeout)) s. Check that redis-server runs there (or pass --redis redis://HOST:PORT/DB)")
            }
            logger.warning("redis \(node): \(lastError); reconnecting in \(Int(delay * 1000)) ms (attempt \(attempt), giving up in \(Int((deadline - unixTime()).rounded(.up))) s)")
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
            request.reset()
            request.begin(arguments: 3 + keys.count + arguments.count)
            request.add("EVALSHA")
            request.add(sha)
            request.add(String(keys.count))
            for key in keys { request.add(key) }
            for argument in arguments { request.add(argument) }
            let reply = try roundTrip()
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
        if simulatedOutageEnd > 0 {
            guard unixTime() >= simulatedOutageEnd else { throw BrokerError("cannot connect: simulated outage") }
            simulatedOutageEnd = 0
        }
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
        // Its own buffer: `request` may hold the commands waiting for this connection.
        var setup = RequestBuffer()
        if let password = node.password { setup.append(["AUTH", password]) }
        if node.database != 0 { setup.append(["SELECT", String(node.database)]) }
        if setup.commands > 0 {
            for reply in try send(setup, commands: setup.commands, on: context) {
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

    /// Writes the encoded commands to the socket. They bypass hiredis's output buffer (which
    /// would copy them and allocate a new buffer per round trip); hiredis then finds nothing
    /// to write and only reads the replies. MSG_NOSIGNAL: a connection the server closed is
    /// an error to handle, not a SIGPIPE that ends the process.
    private func write(_ request: borrowing RequestBuffer, to context: UnsafeMutablePointer<redisContext>) throws(BrokerError) {
        let buffer = request.bytes
        var offset = 0
        while offset < buffer.count {
            let written = Glibc.send(context.pointee.fd, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                continue
            }
            let failure = written < 0 ? errno : EPIPE
            if failure == EINTR { continue }
            throw BrokerError(failure == EAGAIN || failure == EWOULDBLOCK ? "timed out writing to the server" : String(cString: strerror(failure)))
        }
    }

    /// Carries out ``simulatedFailure`` (tests only): fails before sending, or sends the
    /// commands whole and shuts the connection before the replies come back, so the read
    /// fails as it does when a reply is really lost.
    private func simulateFailure(_ request: borrowing RequestBuffer, commands: Int, on context: UnsafeMutablePointer<redisContext>) throws(BrokerError) {
        guard let failure = simulatedFailure else { return }
        simulatedFailure = nil
        guard case .afterSending(let outage) = failure else { throw BrokerError("simulated connection loss before sending") }
        try write(request, to: context)
        shutdown(context.pointee.fd, Int32(SHUT_RDWR))
        simulatedOutageEnd = unixTime() + outage
        for _ in 0..<commands { _ = try readReply(on: context) }
        throw BrokerError("simulated lost reply")
    }

    /// Sends the commands and reads one reply per command.
    private func send(_ request: borrowing RequestBuffer, commands: Int, on context: UnsafeMutablePointer<redisContext>) throws(BrokerError) -> [RedisReply] {
        try write(request, to: context)
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands)
        for _ in 0..<commands { replies.append(try readReply(on: context)) }
        return replies
    }

    /// Sends one command and reads its reply.
    private func sendOne(_ request: borrowing RequestBuffer, on context: UnsafeMutablePointer<redisContext>) throws(BrokerError) -> RedisReply {
        try write(request, to: context)
        return try readReply(on: context)
    }

    private func readReply(on context: UnsafeMutablePointer<redisContext>) throws(BrokerError) -> RedisReply {
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else {
            throw BrokerError(Self.errorString(context))
        }
        defer { freeReplyObject(raw) }
        return RedisReply(copying: raw.assumingMemoryBound(to: redisReply.self))
    }

    private static func errorString(_ context: UnsafeMutablePointer<redisContext>) -> String {
        let message = withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return message.isEmpty ? "connection error \(context.pointee.err)" : message
    }
}
