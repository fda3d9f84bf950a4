// MARK: - RedisSentinelConfig

/// A Redis master found through Redis Sentinel: the connection asks the sentinels for the
/// master's address (`SENTINEL get-master-addr-by-name`) at each connection, so that after a
/// failover it reconnects to the promoted replica.
///
/// In a node's JSON: `"sentinel": {"master_name": "mymaster", "sentinels": [{"host": "s1",
/// "port": 26379}, ...]}`; as a URL `redis-sentinel://s1:26379,s2:26379/mymaster`. The
/// node's user, password and database are the master's; the sentinels are asked without
/// a password.
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

    /// Creates a sentinel configuration.
    public init(masterName: String, sentinels: [Address]) {
        self.masterName = masterName
        self.sentinels = sentinels
    }

    enum CodingKeys: String, CodingKey {
        case masterName = "master_name"
        case sentinels
    }
}
