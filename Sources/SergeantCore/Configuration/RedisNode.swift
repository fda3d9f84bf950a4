// MARK: - RedisNode

/// One Redis server: where it is, how to log in (an ACL user or the `requirepass` password)
/// and whether the connection is encrypted (``tls``).
///
/// In a connector's JSON: `{"host": "redis.internal", "port": 6380, "username": "worker",
/// "password": "…", "database": 0, "tls": {"ca_file": "/etc/ssl/redis-ca.pem"}}`; every
/// field may be left out. As a URL: ``init(url:)``.
public struct RedisNode: Codable, Sendable, Hashable, CustomStringConvertible {
    /// Host name or address.
    public var host: String
    /// TCP port.
    public var port: Int
    /// ACL user name (`AUTH username password`); nil logs in as `default` with ``password``
    /// alone (`AUTH password`), or not at all without one.
    public var username: String?
    /// AUTH password, if the server wants one. Never logged.
    public var password: String?
    /// Database number (SELECT).
    public var database: Int
    /// TLS settings; nil: a plain TCP connection.
    public var tls: RedisTLSConfig?
    /// The sentinels that know where the master is; nil: ``host`` and ``port`` are the server.
    /// With sentinels, ``host`` and ``port`` are only where the master was last seen.
    public var sentinel: RedisSentinelConfig?
    /// The Redis Cluster this node is a seed of (``RedisClusterConfig``); nil: a standalone
    /// server. With a cluster, ``host`` and ``port`` are the first seed's.
    public var cluster: RedisClusterConfig?
    /// When a write counts as done: ``RedisDurability/acknowledged`` (by the master, the
    /// default) or ``RedisDurability/replicated`` (by a replica too, `WAIT`).
    public var durability: RedisDurability = .acknowledged

    /// Creates a node description.
    public init(host: String = "localhost", port: Int = 6379, username: String? = nil, password: String? = nil,
                database: Int = 0, tls: RedisTLSConfig? = nil, sentinel: RedisSentinelConfig? = nil) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tls = tls
        self.sentinel = sentinel
    }

    enum CodingKeys: String, CodingKey {
        case host, port, username, password, database, tls, sentinel, cluster, durability
    }

    /// Decodes JSON in which every field is optional (localhost:6379, no user, no password,
    /// database 0, no TLS).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(host: try container.decodeIfPresent(String.self, forKey: .host) ?? "localhost",
                  port: try container.decodeIfPresent(Int.self, forKey: .port) ?? 6379,
                  username: try container.decodeIfPresent(String.self, forKey: .username),
                  password: try container.decodeIfPresent(String.self, forKey: .password),
                  database: try container.decodeIfPresent(Int.self, forKey: .database) ?? 0,
                  tls: try container.decodeIfPresent(RedisTLSConfig.self, forKey: .tls),
                  sentinel: try container.decodeIfPresent(RedisSentinelConfig.self, forKey: .sentinel))
        durability = try container.decodeIfPresent(RedisDurability.self, forKey: .durability) ?? .acknowledged
        cluster = try container.decodeIfPresent(RedisClusterConfig.self, forKey: .cluster)
    }

    /// `host:port/database` (`sentinel:NAME/database` for a master found by sentinels,
    /// `cluster:SEED,SEED` for a cluster),
    /// without the user or the password.
    public var description: String {
        if let sentinel { return "sentinel:\(sentinel.masterName)/\(database)" }
        if let cluster { return "cluster:" + cluster.seeds.map(\.description).joined(separator: ",") }
        return "\(host):\(port)/\(database)"
    }
}
