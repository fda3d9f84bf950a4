import Logging
import SergeantCore

// MARK: - RedisConnection

/// One connection to one node: commands go out in the wire format (``RequestBuffer``) over a
/// ``RedisStream`` that its ``RedisTransport`` opens, and hiredis parses the replies
/// (``RedisReplyReader``). A dropped connection is re-established with a logged, bounded
/// exponential backoff (with jitter) before the command is tried again.
public final class RedisConnection {
    /// The node this connection talks to.
    public let node: RedisNode
    /// How long to keep trying to reconnect before a command fails.
    public var reconnectTimeout: Double
    /// How the connection reaches ``node``: ``TLSTransport`` for a node with
    /// ``RedisNode/tls``, else ``TCPTransport``, unless a test put another here. A new
    /// transport takes effect from the next connection: the current one is closed.
    var transport: any RedisTransport {
        didSet { disconnect() }
    }
    private var stream: (any RedisStream)?
    /// Parses the replies of ``stream``; reset with each new stream.
    private let reader = RedisReplyReader()
    let logger: Logger
    /// SHA1 of each Lua script loaded on this connection, by script identity.
    private var scripts: [ObjectIdentifier: [UInt8]] = [:]
    /// The commands of the current round trip in the wire format, reused between calls so a
    /// command costs no allocation of its own.
    @exclusivity(unchecked) private var request = RequestBuffer()
    /// Commands that go out ahead of the next round trip, in the same write, with their
    /// replies read and dropped (``piggyback(_:)``).
    private var piggybacked = Piggybacked()
    /// What the latest connection found about the node's settings (``RedisServerCheck``);
    /// nil before the first connection.
    public private(set) var serverCheck: RedisServerCheck?
    /// Connections made after the first one (each a reconnect after a lost connection).
    public private(set) var reconnects = 0

    /// Creates a connection; it connects on first use.
    public init(node: RedisNode, logger: Logger, reconnectTimeout: Double = 30) {
        self.node = node
        self.logger = logger
        self.reconnectTimeout = reconnectTimeout
        let direct: any RedisTransport = node.tls.map { TLSTransport(config: $0) } ?? TCPTransport()
        transport = node.sentinel.map { SentinelTransport(config: $0, inner: direct, logger: logger) } ?? direct
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

    /// ``pipeline(_:)`` that stops reconnecting at `deadline` (``MonotonicClock``) instead of
    /// ``reconnectTimeout`` from now: for a step of an operation that has its own deadline.
    func pipeline(_ commands: [[[UInt8]]], until deadline: Double?) throws(BrokerError) -> [RedisReply] {
        request.reset()
        for arguments in commands { request.append(arguments) }
        let waits = commands.contains { waitsForReplica(Self.name(of: $0)) }
        if waits { request.append(Self.waitCommand) }
        defer { request.trim() }
        var result = try withReconnects(until: deadline) { () throws(BrokerError) in
            let stream = try connected()
            try dropReplies(try write(stream), from: stream)
            let replies = try replies(commands.count + (waits ? 1 : 0), from: stream)
            for reply in replies {
                try checkMaster(reply)
                try checkSlot(reply)
            }
            if let loading = loadingFailure(in: replies) { throw loading }
            return replies
        }
        let wait = waits ? result.removeLast() : nil
        try checkPermissions(result) { index in Self.name(of: commands[index]) }
        if let wait, let failure = replicationFailure(wait, command: Self.name(of: commands[0])) { throw failure }
        return result
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
    /// stops reconnecting at `deadline` (``MonotonicClock``) when given.
    func pipelineOnce(until deadline: Double?, _ encode: (inout RequestBuffer) -> Void) throws(BrokerError) -> [RedisReply]? {
        request.reset()
        encode(&request)
        let command = request.firstCommandName
        let waits = waitsForReplica(command)
        if waits { request.append(Self.waitCommand) }
        let commands = request.commands
        defer { request.trim() }
        let deadline = deadline ?? MonotonicClock.now + reconnectTimeout
        var replies: [RedisReply]
        var delay = 0.05
        while true {
            guard let sent = try sendOnce(commands, until: deadline) else { return nil }
            replies = sent
            // A cluster node that another node's slot reached aborted the transaction: nothing
            // ran; it goes again to the slot's master (the slot map is read again).
            if command == "multi", transactionRedirected(replies), MonotonicClock.now < deadline {
                disconnect()
                pause(seconds: 0.05)
                continue
            }
            guard let loading = loadingFailure(in: replies) else { break }
            // A transaction that a loading server refused a command of is aborted (EXECABORT):
            // nothing ran, so it is sent again once the server has loaded. Redis accepts MULTI
            // while loading; had a server refused MULTI itself, the commands after it would
            // have run one by one if the loading ended meanwhile: that outcome is unknown.
            let exec = replies[replies.count - (waits ? 2 : 1)]
            guard !Self.isLoadingRefusal(replies[0]), case .error(let aborted) = exec, aborted.hasPrefix("EXECABORT") else {
                logger.warning("redis \(node): \(loading.message) for part of a transaction; the outcome of the commands is unknown")
                disconnect()
                return nil
            }
            guard MonotonicClock.now + delay <= deadline else {
                throw BrokerError("\(loading.message); gave up waiting for it after \(Int(reconnectTimeout)) s", reason: .serverLoading)
            }
            logger.warning("redis \(node): \(loading.message); sending the transaction again in \(Int(delay * 1000)) ms")
            pause(seconds: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, 2)
        }
        // A transaction with a refused command is aborted (EXECABORT): nothing ran.
        var result = replies
        let wait = waits ? result.removeLast() : nil
        try checkPermissions(result) { _ in "multi" }
        // It ran: a replica that did not confirm it is said, not an unknown outcome.
        if let wait, let failure = replicationFailure(wait, command: command) { logger.warning("\(failure.message)") }
        return result
    }

    /// Sends the `commands` commands of ``request`` (after the piggybacked ones) and reads
    /// their replies, for ``pipelineOnce(until:_:)``; nil when the connection failed after
    /// the last byte went out (the outcome is unknown).
    private func sendOnce(_ commands: Int, until deadline: Double) throws(BrokerError) -> [RedisReply]? {
        // Until its last byte is handed to the stream, a transaction cannot have run (it runs
        // at EXEC, its last command): such failures reconnect and send it again. A connection
        // the server closed while idle is replaced first, so that a dead server does not
        // leave a transaction of unknown outcome behind.
        var dropped = Piggybacked()
        let stream = try withReconnects(until: deadline) { () throws(BrokerError) -> any RedisStream in
            let stream = try connected()
            if stream.closedByPeer { throw BrokerError("the server closed the connection") }
            dropped = try write(stream)
            return stream
        }
        do throws(BrokerError) {
            try dropReplies(dropped, from: stream)
            return try replies(commands, from: stream)
        } catch {
            logger.warning("redis \(node): \(error.message); the outcome of the commands is unknown")
            disconnect()
            return nil
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
            let reply = try roundTrip(script: script)
            if case .error(let message) = reply, message.hasPrefix("NOSCRIPT") {
                scripts[id] = nil
                continue
            }
            return reply
        }
        throw BrokerError("redis \(node) keeps forgetting a Lua script")
    }

    // MARK: Piggybacking

    /// Queues `commands` to go out ahead of this connection's next round trip, in the same
    /// write (no round trip of their own); their replies are read and dropped. They are sent
    /// at most once: a write that fails loses them rather than risk running them twice
    /// (one that a loading server refused did not run, and goes with the next round trip).
    func piggyback(_ commands: [[[UInt8]]]) {
        var buffer = RequestBuffer()
        var starts: [Int] = []
        for command in commands {
            starts.append(piggybacked.bytes.count + buffer.count)
            buffer.append(command)
        }
        piggybacked.bytes.append(contentsOf: buffer.bytes)
        piggybacked.starts += starts
    }

    /// True when commands wait for the next round trip.
    var hasPiggybacked: Bool { piggybacked.count > 0 }

    /// Writes the request, after the piggybacked commands if any; returns those, whose
    /// replies come before the request's own.
    private func write(_ stream: any RedisStream) throws(BrokerError) -> Piggybacked {
        guard piggybacked.count > 0 else {
            try stream.write(request.bytes)
            return Piggybacked()
        }
        // Counters are sent at most once: not into a connection the server has closed (after
        // a restart), where they would be lost for nothing; the caller reconnects first.
        if stream.closedByPeer { throw BrokerError("the server closed the connection") }
        let sent = piggybacked
        var bytes = sent.bytes
        bytes.append(contentsOf: request.bytes)
        piggybacked = Piggybacked()
        var failure: BrokerError?
        bytes.withUnsafeBytes { buffer in
            do throws(BrokerError) { try stream.write(buffer) } catch { failure = error }
        }
        if let failure { throw failure }
        return sent
    }

    /// Reads and drops the replies of the piggybacked commands `sent`. One that a loading
    /// server refused did not run: it goes out again with the next round trip.
    private func dropReplies(_ sent: Piggybacked, from stream: any RedisStream) throws(BrokerError) {
        for index in 0..<sent.count {
            let reply = try reader.next(from: stream)
            guard case .error(let message) = reply else { continue }
            if Self.isLoadingRefusal(reply) {
                piggybacked.starts.append(piggybacked.bytes.count)
                piggybacked.bytes.append(contentsOf: sent.command(index))
            } else {
                logger.warning("redis \(node): a counter update failed: \(message)")
            }
        }
    }

    // MARK: Round trips

    /// Sends the one command in ``request`` and reads its reply (reconnecting and resending
    /// after a failure). An ACL refusal throws (``checkPermission(_:command:script:)``).
    private func roundTrip(script: LuaScript? = nil) throws(BrokerError) -> RedisReply {
        defer { request.trim() }
        let command = request.firstCommandName
        let waits = waitsForReplica(command)
        if waits { request.append(Self.waitCommand) }
        let (reply, wait) = try withReconnects { () throws(BrokerError) in
            let stream = try connected()
            try dropReplies(try write(stream), from: stream)
            let reply = try reader.next(from: stream)
            try checkMaster(reply)
            try checkSlot(reply)
            let wait = waits ? try reader.next(from: stream) : nil
            // Refused unrun by a server that is still loading: sent again once it has loaded.
            if let loading = loadingFailure(in: CollectionOfOne(reply)) { throw loading }
            return (reply, wait)
        }
        try checkPermission(reply, command: command, script: script)
        if let wait, let failure = replicationFailure(wait, command: command) { throw failure }
        return reply
    }

    /// The lower-case name of a command given as its arguments.
    static func name(of arguments: [[UInt8]]) -> String {
        arguments.first.map { String(decoding: $0, as: UTF8.self).lowercased() } ?? "?"
    }

    /// Reads the replies of `count` commands.
    private func replies(_ count: Int, from stream: any RedisStream) throws(BrokerError) -> [RedisReply] {
        var replies: [RedisReply] = []
        replies.reserveCapacity(count)
        for _ in 0..<count { replies.append(try reader.next(from: stream)) }
        return replies
    }

    /// Runs `body` until it succeeds, disconnecting after each failure and retrying with
    /// the logged backoff, for at most ``reconnectTimeout`` seconds (or until `deadline`).
    private func withReconnects<T>(until deadline: Double? = nil, _ body: () throws(BrokerError) -> T) throws(BrokerError) -> T {
        var lastError = ""
        let deadline = deadline ?? MonotonicClock.now + reconnectTimeout
        var delay = 0.05
        var attempt = 0
        while true {
            attempt += 1
            var lastReason: BrokerError.Reason?
            do {
                return try body()
            } catch {
                disconnect()
                // A TLS or login failure would only repeat itself.
                if error.isPermanent { throw error }
                lastError = error.message
                lastReason = error.reason
            }
            if MonotonicClock.now + delay > deadline {
                throw BrokerError("redis \(node) is unreachable: \(lastError); gave up after \(attempt) attempts"
                    + " in \(Int(reconnectTimeout)) s. Check that redis-server runs there (or pass --redis redis://HOST:PORT/DB)",
                    reason: lastReason)
            }
            logger.warning("redis \(node): \(lastError); reconnecting in \(Int(delay * 1000)) ms (attempt \(attempt), giving up in \(Int((deadline - MonotonicClock.now).rounded(.up))) s)")
            pause(seconds: delay * Double.random(in: 0.8...1.2))
            delay = min(delay * 2, 2)
        }
    }

    // MARK: Connection

    /// The open stream, or a new one with the connection's setup (AUTH, SELECT) done and the
    /// node's settings checked (``RedisServerCheck``), all in one round trip.
    private func connected() throws(BrokerError) -> any RedisStream {
        if let stream { return stream }
        let masterBefore = (transport as? SentinelTransport)?.master
        let stream = try transport.connect(to: node)
        self.stream = stream
        // Its own buffer: `request` may hold the commands waiting for this connection.
        var setup = RequestBuffer()
        let authenticates = node.username != nil || node.password != nil
        if let username = node.username {
            setup.append(["AUTH", username, node.password ?? ""])
        } else if let password = node.password {
            setup.append(["AUTH", password])
        }
        if node.database != 0 { setup.append(["SELECT", String(node.database)]) }
        let setupCommands = setup.commands
        for command in RedisServerCheck.commands { setup.append(command) }
        // A sentinel can name a stale master right after a failover: ask the node itself.
        let checksRole = node.sentinel != nil
        if checksRole { setup.append(["ROLE"]) }
        let replies: [RedisReply]
        do throws(BrokerError) {
            try stream.write(setup.bytes)
            replies = try self.replies(setup.commands, from: stream)
        } catch {
            throw setupFailure(error)
        }
        for (index, reply) in replies.enumerated() {
            guard case .error(let message) = reply else { continue }
            if index < setupCommands || message.hasPrefix("NOAUTH") {
                disconnect()
                throw setupRefusal(message, authenticating: authenticates && index == 0)
            }
        }
        var checkReplies = replies.dropFirst(setupCommands)
        if checksRole, let role = checkReplies.popLast() {
            do throws(BrokerError) { try checkRole(role) } catch {
                disconnect()
                throw error
            }
        }
        let check = RedisServerCheck(replies: checkReplies)
        // After a failover the master is another server: its run_id is new, and no restart.
        let sameServer = (transport as? SentinelTransport).map { $0.master == masterBefore } ?? true
        check.log(node: node, previous: sameServer ? serverCheck : nil, to: logger)
        if serverCheck != nil { reconnects += 1 }
        serverCheck = check
        return stream
    }

    /// The error of a stream that failed in the connection's setup: a plain connection that
    /// the server closed at once is what a TLS port does to a plain client.
    private func setupFailure(_ error: BrokerError) -> BrokerError {
        guard node.tls == nil, !error.message.hasPrefix("timed out") else { return error }
        return BrokerError("\(error.message) before answering the connection setup. If \(node.host):\(node.port) is a TLS"
            + " port (tls-port), connect with rediss://", reason: .closedDuringSetup)
    }

    /// The error of a setup command that the server refused with `message`. Never echoes the
    /// password: only the server's answer.
    private func setupRefusal(_ message: String, authenticating: Bool) -> BrokerError {
        if message.hasPrefix("NOAUTH") {
            return BrokerError("redis \(node) wants a password (\(message)): give one in the URL"
                + " (redis://[USER]:PASSWORD@HOST) or the node's password", reason: .authenticationRequired)
        }
        if authenticating && (message.hasPrefix("WRONGPASS") || message.contains("invalid password")
                              || message.contains("invalid username-password")) {
            return BrokerError("redis \(node) refused the login of user '\(node.username ?? "default")' (\(message)):"
                + " check the user name and password, and that the user is on (ACL LIST)", reason: .authenticationFailed)
        }
        return BrokerError("redis \(node) refused the connection setup (AUTH/SELECT): \(message)")
    }

    /// Closes the stream (if any); the next command connects again.
    private func disconnect() {
        if stream != nil {
            stream = nil
            reader.reset()
        }
        scripts = [:]
    }
}
