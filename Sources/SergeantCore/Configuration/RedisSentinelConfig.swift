// MARK: - RedisSentinelConfig

/// A Redis master found through Redis Sentinel: the connection asks the sentinels for the
/// master's address (`SENTINEL get-master-addr-by-name`) at each connection, so that after a
/// failover it reconnects to the promoted replica.
///
/// In a node's JSON: `"sentinel": {"master_name": "mymaster", "sentinels": [{"host": "s1",
/// "port": 26379}, ...], "username": "...", "password": "..."}`; as a URL
/// `redis-sentinel://s1:26379,s2:26379/mymaster?sentinel_password=...`. The node's user,
/// password and database are the master's; ``username`` and ``password`` are the
/// sentinels' own (`requirepass` or an ACL user in sentinel.conf), distinct from the
/// master's: without them the sentinels are asked without logging in.
public struct RedisSentinelConfig: Codable, Sendable, Hashable {
    /// One sentinel's address.
    public struct Address: Codable, Sendable, Hashable, CustomStringConvertible {
        /// Host name or address.
        public var host: String
        /// TCP port (Sentinel's default is 26379).
        public var port: Int

        /// Creates an address.
        public init(host: String, port: Int = 26379) {
            self.host = host
            self.port = port
        }

        /// `host:port`.
        public var description: String { "\(host):\(port)" }
    }

    /// The name the sentinels monitor the master under (`sentinel monitor NAME ...`).
    public var masterName: String
    /// The sentinels to ask, in order; the first that answers is used.
    public var sentinels: [Address]

    /// The ACL user the sentinels are asked as (`AUTH username password`); nil: `default`.
    public var username: String?
    /// The sentinels' password (`requirepass` in sentinel.conf, or ``username``'s); nil: the
    /// sentinels are asked without logging in. Never logged.
    public var password: String?

    /// Creates a sentinel configuration.
    public init(masterName: String, sentinels: [Address], username: String? = nil, password: String? = nil) {
        self.masterName = masterName
        self.sentinels = sentinels
        self.username = username
        self.password = password
    }

    enum CodingKeys: String, CodingKey {
        case masterName = "master_name"
        case sentinels, username, password
    }
}
