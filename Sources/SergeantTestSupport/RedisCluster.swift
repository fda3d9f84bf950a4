import Foundation
import SergeantCore

// MARK: - RedisCluster

/// A private Redis Cluster on loopback: `masters` + `masters * replicasPerMaster`
/// `redis-server --cluster-enabled yes` on free ports, joined by `redis-cli --cluster create`
/// (which spreads the 16,384 slots evenly over the masters), started for a test and stopped
/// with it. Failure detection is fast (`cluster-node-timeout` 1 s) so that a failover test
/// sees a replica promoted within seconds.
///
/// ```swift
/// let cluster = try RedisCluster()                   // 3 masters, 3 replicas
/// let url = cluster.url                              // redis-cluster://127.0.0.1:P1,127.0.0.1:P2,...
/// let master = try cluster.masters()[0]; master.kill()
/// try cluster.waitUntilHealthy()                     // its replica took over
/// ```
public final class RedisCluster: @unchecked Sendable {
    /// Every node, in start order (the first `masters` were made masters).
    public let servers: [RedisServer]
    /// Milliseconds without an answer before a node is taken for failed.
    public let nodeTimeout: Int

    /// Starts the nodes, creates the cluster and waits until every node says
    /// `cluster_state:ok` (polling, with a deadline).
    public init(masters: Int = 3, replicasPerMaster: Int = 1, nodeTimeout: Int = 1000, appendOnly: Bool = false) throws {
        precondition(masters >= 1 && replicasPerMaster >= 0)
        self.nodeTimeout = nodeTimeout
        precondition(masters >= 3 || replicasPerMaster == 0, "a cluster of fewer than 3 masters has no replicas here")
        var servers: [RedisServer] = []
        var busPorts: [Int] = []
        var ports = Set<Int>()
        for _ in 0..<(masters * (1 + replicasPerMaster)) {
            var port = try freePort()
            while ports.contains(port) { port = try freePort() }
            ports.insert(port)
            // The cluster bus listens on a port of its own: free too.
            let bus = try Self.busPort(avoiding: ports)
            ports.insert(bus)
            busPorts.append(bus)
            servers.append(try RedisServer(options: .init(port: port, appendOnly: appendOnly, extraArguments: [
                "--cluster-enabled", "yes", "--cluster-config-file", "nodes-\(port).conf",
                "--cluster-node-timeout", String(nodeTimeout), "--cluster-replica-validity-factor", "0",
                "--cluster-port", String(bus),
                // A new replica syncs at once (Redis 7 waits 5 s for more replicas by default,
                // and until then a failover promotes an empty replica).
                "--repl-diskless-sync-delay", "0",
            ])))
        }
        self.servers = servers
        if masters >= 3 {
            let created = try ChildProcess.run([try which("redis-cli"), "--cluster", "create"]
                + servers.map { "127.0.0.1:\($0.port)" } + ["--cluster-replicas", String(replicasPerMaster), "--cluster-yes"], timeout: 60)
            guard created.code == 0 else { throw SupportError("redis-cli --cluster create failed: \(created.output)") }
        } else {
            // redis-cli wants 3 masters: equal slot ranges by hand, then the nodes meet.
            for (index, server) in servers.enumerated() {
                let first = index * 16_384 / masters, last = (index + 1) * 16_384 / masters - 1
                _ = try cli(server, "CLUSTER", "ADDSLOTSRANGE", String(first), String(last))
                if index > 0 { _ = try cli(servers[0], "CLUSTER", "MEET", "127.0.0.1", String(server.port), String(busPorts[index])) }
            }
        }
        try waitUntilHealthy(timeout: 30)
    }

    deinit {
        for server in servers { server.kill() }
    }

    /// A free port for a node's cluster bus, not among `ports`.
    private static func busPort(avoiding ports: Set<Int>) throws -> Int {
        for _ in 0..<20 {
            let port = try freePort()
            if !ports.contains(port) { return port }
        }
        throw SupportError("cannot find a free port for the cluster bus")
    }

    /// `redis-cluster://127.0.0.1:PORT,...` over every node, with `query` (`shards=3`) if given.
    public func url(query: String? = nil) -> String {
        "redis-cluster://" + servers.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + (query.map { "?" + $0 } ?? "")
    }

    /// ``url(query:)`` without a query.
    public var url: String { url() }

    /// The node of ``url(query:)``.
    public func node(shards: Int = 1, durability: RedisDurability = .acknowledged) -> RedisNode {
        var node = RedisNode(url: url(query: "shards=\(shards)"))!
        node.durability = durability
        return node
    }

    /// Runs `redis-cli -p PORT WORDS...` against `server` and returns its output.
    public func cli(_ server: RedisServer, _ words: String...) throws -> String {
        try cli(server, words)
    }

    /// ``cli(_:_:)`` with the words as an array.
    public func cli(_ server: RedisServer, _ words: [String]) throws -> String {
        let result = try ChildProcess.run([try which("redis-cli"), "-p", String(server.port)] + words, timeout: 10)
        guard result.code == 0 else { throw SupportError("redis-cli \(words.joined(separator: " ")) failed: \(result.output)") }
        return result.output
    }

    /// The running nodes that are masters now (`ROLE`).
    public func masters() throws -> [RedisServer] {
        servers.filter { $0.isRunning && (try? cli($0, "ROLE"))?.hasPrefix("master") == true }
    }

    /// Waits until every running node says `cluster_state:ok` with all 16,384 slots served,
    /// and every running replica is in sync with its master (`master_link_status:up`), so that
    /// a failover from here promotes a replica that has the data (polling).
    public func waitUntilHealthy(timeout: Double = 30) throws {
        try waitUntil(timeout: timeout, "the redis cluster to be ok on every node, with its replicas in sync") {
            for server in servers where server.isRunning {
                guard let info = try? cli(server, "CLUSTER", "INFO"),
                      info.contains("cluster_state:ok"), info.contains("cluster_slots_ok:16384"),
                      let replication = try? cli(server, "INFO", "replication") else { return false }
                if replication.contains("role:slave"), !replication.contains("master_link_status:up") { return false }
            }
            return true
        }
    }

    /// Waits until a replica of `master` (killed or stopped) took its place: as many running
    /// masters as before, and every node `cluster_state:ok` again (polling). Start `master`
    /// again only after this: a master without persistence that came back before its
    /// replica's promotion would serve its slots empty.
    public func waitForFailover(of master: RedisServer, masters count: Int, timeout: Double = 60) throws {
        precondition(!master.isRunning, "the master on port \(master.port) still runs")
        try waitUntil(timeout: timeout, "a replica to take over from the master on port \(master.port)") {
            (try masters()).count == count
        }
        try waitUntilHealthy(timeout: timeout)
    }

    /// The key count of every running master, by port (`DBSIZE`).
    public func keyCounts() throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for server in try masters() {
            counts[server.port] = Int(try cli(server, "DBSIZE").trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        }
        return counts
    }

    /// The running master that serves `key`'s slot (`CLUSTER KEYSLOT`, `CLUSTER SLOTS`).
    public func master(of key: String) throws -> RedisServer? {
        guard let first = servers.first(where: \.isRunning) else { return nil }
        let slot = Int(try cli(first, "CLUSTER", "KEYSLOT", key).trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
        for server in try masters() {
            let nodes = try cli(server, "CLUSTER", "NODES")
            for line in nodes.split(separator: "\n") where line.contains("myself") {
                for range in line.split(separator: " ").dropFirst(8) {
                    let bounds = range.split(separator: "-").compactMap { Int($0) }
                    if bounds.count == 2, (bounds[0]...bounds[1]).contains(slot) { return server }
                    if bounds.count == 1, bounds[0] == slot { return server }
                }
            }
        }
        return nil
    }
}
