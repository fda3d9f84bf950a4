import Foundation

// MARK: - SentinelGroup

/// A master, its replica and three sentinels (quorum 2) on loopback ports, for tests and
/// `sergeant-chaos --broker sentinel`: ``killMaster()`` SIGKILLs whichever server is the
/// master now, ``waitForFailover(from:timeout:)`` waits until the sentinels promoted the
/// other one, and ``restart(port:)`` brings a killed server back as a replica of the new
/// master, so that the next failover has somewhere to go.
public final class SentinelGroup: @unchecked Sendable {
    /// The name the sentinels monitor the master under.
    public let masterName: String
    /// The data servers' password (`requirepass`, and the replica's `masterauth`); nil: none.
    public let masterPassword: String?
    /// The sentinels' own password (`requirepass` in sentinel.conf); nil: none.
    public let sentinelPassword: String?
    /// The data servers by port: the first master and its replica, and whoever replaced them.
    public private(set) var servers: [Int: RedisServer] = [:]
    /// The three sentinels.
    public private(set) var sentinels: [RedisServer] = []

    /// Starts the group and waits (polling, with a deadline) until every sentinel knows the
    /// replica and the other two.
    public init(masterName: String = "mymaster", masterPassword: String? = nil, sentinelPassword: String? = nil) throws {
        self.masterName = masterName
        self.masterPassword = masterPassword
        self.sentinelPassword = sentinelPassword
        let master = try startServer(port: nil, replicaOf: nil)
        let replica = try startServer(port: nil, replicaOf: master.port)
        // Until its first sync a replica holds nothing: a failover before it would promote an
        // empty server.
        try waitUntil(timeout: 60, "the replica's first sync") {
            try replica.reply(["INFO", "replication"]).contains("master_link_status:up")
        }
        for _ in 0..<3 {
            var options = RedisServer.Options()
            options.sentinel = .init(masterName: masterName, masterPort: master.port, password: sentinelPassword,
                                     masterPassword: masterPassword)
            let sentinel = try RedisServer(options: options)
            sentinel.password = sentinelPassword
            sentinels.append(sentinel)
        }
        try waitUntil(timeout: 60, "the sentinels to know the replica and each other") {
            try sentinels.allSatisfy { sentinel in
                try sentinel.command("SENTINEL", "replicas", masterName) == "*1"
                    && sentinel.command("SENTINEL", "sentinels", masterName) == "*2"
            }
        }
    }

    deinit {
        stop()
    }

    /// Stops every server and sentinel.
    public func stop() {
        for sentinel in sentinels { sentinel.kill() }
        for server in servers.values { server.kill() }
    }

    /// `redis-sentinel://[:MASTER_PASSWORD@]127.0.0.1:P1,...,127.0.0.1:P3/NAME[?...]` with the
    /// sentinel password (unless `sentinelLogin` is false) and `durability` as query
    /// parameters.
    public func url(durability: String? = nil, sentinelLogin: Bool = true) -> String {
        var query: [String] = []
        if sentinelLogin, let sentinelPassword { query.append("sentinel_password=\(sentinelPassword)") }
        if let durability { query.append("durability=\(durability)") }
        return "redis-sentinel://" + (masterPassword.map { ":\($0)@" } ?? "")
            + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(masterName)"
            + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    /// The port the first sentinel that answers names as the master's.
    public func masterPort() throws -> Int {
        for sentinel in sentinels where sentinel.isRunning {
            let lines = try sentinel.reply(["SENTINEL", "get-master-addr-by-name", masterName])
            // *2, $N, host, $N, port
            if lines.first == "*2", lines.count >= 5, let port = Int(lines[4]) { return port }
        }
        throw SupportError("no sentinel names a master for \(masterName)")
    }

    /// The server that is the master now (as the sentinels say).
    public func master() throws -> RedisServer {
        let port = try masterPort()
        guard let server = servers[port] else { throw SupportError("the sentinels name port \(port), which is no server of the group") }
        return server
    }

    /// The running servers that are not the master.
    public func replicas() throws -> [RedisServer] {
        let port = try masterPort()
        return servers.values.filter { $0.port != port && $0.isRunning }
    }

    /// SIGKILLs the master and returns its port.
    @discardableResult
    public func killMaster() throws -> Int {
        let master = try master()
        master.kill()
        return master.port
    }

    /// Waits until the sentinels name another master than `port` and it answers ROLE as a
    /// master; returns its port.
    @discardableResult
    public func waitForFailover(from port: Int, timeout: Double = 60) throws -> Int {
        var promoted = 0
        try waitUntil(timeout: timeout, "the sentinels to promote a replica of port \(port)") {
            guard let now = try? masterPort(), now != port, let server = servers[now], server.isRunning,
                  (try? server.reply(["ROLE"]))?.dropFirst(2).first == "master" else { return false }
            promoted = now
            return true
        }
        return promoted
    }

    /// Starts a killed server again on its port, empty, as a replica of the current master,
    /// and waits until it is in sync.
    public func restart(port: Int) throws {
        let master = try masterPort()
        servers[port] = nil
        let server = try startServer(port: port, replicaOf: master)
        try waitUntil(timeout: 60, "the restarted server on port \(port) to sync with the master on port \(master)") {
            try server.reply(["INFO", "replication"]).contains("master_link_status:up")
        }
    }

    @discardableResult
    private func startServer(port: Int?, replicaOf master: Int?) throws -> RedisServer {
        // Redis 7 waits 5 s (repl-diskless-sync-delay) for more replicas before a first sync.
        var arguments = ["--repl-diskless-sync-delay", "0"]
        if let master { arguments += ["--replicaof", "127.0.0.1", String(master)] }
        if let masterPassword { arguments += ["--requirepass", masterPassword, "--masterauth", masterPassword] }
        let server = try RedisServer(options: RedisServer.Options(port: port, extraArguments: arguments))
        server.password = masterPassword
        servers[server.port] = server
        return server
    }
}
