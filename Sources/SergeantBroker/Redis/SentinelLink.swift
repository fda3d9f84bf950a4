#if canImport(Glibc)
import Glibc
#endif
import SergeantCore

// MARK: - SentinelLink

/// One connection to one sentinel, logged in when ``RedisSentinelConfig/password`` is set
/// (`AUTH [username] password`): the questions of ``SentinelTransport`` and the
/// `+switch-master` subscription of ``SentinelWatcher``. Sentinels are reached over plain TCP.
final class SentinelLink {
    /// The sentinel this link talks to.
    let address: RedisSentinelConfig.Address
    private let stream: TCPTransport.Stream
    private let reader = RedisReplyReader()

    /// Connects to `address` and logs in with `config`'s sentinel credentials. A refused
    /// login throws with reason ``BrokerError/Reason/authenticationFailed`` (or
    /// ``BrokerError/Reason/authenticationRequired`` when the sentinel wants a password that
    /// the configuration does not give, found at the first command).
    init(to address: RedisSentinelConfig.Address, config: RedisSentinelConfig, timeout: Int) throws(BrokerError) {
        self.address = address
        stream = try TCPTransport.Stream(node: RedisNode(host: address.host, port: address.port),
                                         connectTimeout: timeout, ioTimeout: timeout)
        guard let password = config.password else { return }
        let reply = try command(config.username.map { ["AUTH", $0, password] } ?? ["AUTH", password])
        if case .error(let message) = reply {
            throw BrokerError("sentinel \(address) refused the login of user '\(config.username ?? "default")' (\(message)):"
                + " check sentinel_username and sentinel_password (the sentinels' own, not the master's)",
                reason: .authenticationFailed)
        }
    }

    /// Sends one command and reads its reply.
    func command(_ arguments: [String]) throws(BrokerError) -> RedisReply {
        try send(arguments)
        return try next()
    }

    /// Sends one command without reading a reply (`SUBSCRIBE`, `PING` in subscribed mode).
    func send(_ arguments: [String]) throws(BrokerError) {
        var request = RequestBuffer()
        request.append(arguments)
        try stream.write(request.bytes)
    }

    /// Makes a read give up after `seconds` without data (the subscription's poll).
    func setReadTimeout(seconds: Int) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        _ = setsockopt(stream.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    /// The next reply (or pushed message); throws on a read timeout, as on any failure.
    func next() throws(BrokerError) -> RedisReply {
        try reader.next(from: stream)
    }

    /// `SENTINEL get-master-addr-by-name`: where the sentinel says the master is.
    func masterAddress(of name: String) throws(BrokerError) -> RedisSentinelConfig.Address {
        let reply = try command(["SENTINEL", "get-master-addr-by-name", name])
        if case .array(let parts) = reply, parts.count == 2, case .bytes(let host) = parts[0], case .bytes(let port) = parts[1],
           let number = Int(String(decoding: port, as: UTF8.self)) {
            return .init(host: String(decoding: host, as: UTF8.self), port: number)
        }
        if case .error(let message) = reply, message.hasPrefix("NOAUTH") {
            throw BrokerError("sentinel \(address) wants a password (\(message)): give the sentinels' own in"
                + " sentinel_password (URL) or the node's sentinel.password", reason: .authenticationRequired)
        }
        throw BrokerError("\(address) does not know a master named '\(name)' (\(reply))")
    }
}
