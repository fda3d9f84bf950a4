import Logging
import SergeantCore

// MARK: - ClusterSlotMap

/// Which master serves each of a Redis Cluster's 16,384 hash slots, as `CLUSTER SLOTS` says,
/// shared by every connection of one ``RedisClusterConnector``. It is read from the first
/// node that answers (the seeds, then every node a previous map named) and read again when a
/// connection is made after a failure or a redirection (``ClusterTransport``), at most once
/// per ``minimumRefreshInterval``.
final class ClusterSlotMap {
    /// The number of hash slots of every Redis Cluster.
    static let slotCount = 16_384
    /// Seconds between two reads of the map, however many connections ask.
    static let minimumRefreshInterval = 0.1

    /// The node every cluster node is reached as (user, password, TLS), without the cluster.
    let template: RedisNode
    private let logger: Logger
    /// Per slot: the index of its master in ``masters``; -1 for a slot no master serves.
    private var owners: [Int32] = []
    /// The masters of the latest map.
    private(set) var masters: [RedisClusterConfig.Address] = []
    /// Where the map is read from: the seeds, then every node a map named.
    private var known: [RedisClusterConfig.Address]
    private var refreshedAt = -Double.infinity
    /// True when a redirection or a failure said the map is out of date.
    var stale = true

    /// A map of the cluster whose seeds `node` lists.
    init(node: RedisNode, logger: Logger) {
        var template = node
        template.cluster = nil
        template.database = 0
        self.template = template
        self.logger = logger
        known = node.cluster?.seeds ?? [.init(host: node.host, port: node.port)]
    }

    /// The master that serves `slot`, reading the map first when it is stale or when
    /// `refresh` asks (and it was not read in the last ``minimumRefreshInterval``).
    func master(for slot: Int, refresh: Bool = false) throws(BrokerError) -> RedisClusterConfig.Address {
        if stale || refresh || owners.isEmpty { try self.refresh() }
        let owner = owners[slot]
        guard owner >= 0 else {
            throw BrokerError("no master of the redis cluster serves hash slot \(slot) (CLUSTER SLOTS); the cluster is"
                + " incomplete: check it with `redis-cli --cluster check HOST:PORT` and fix it with `redis-cli --cluster fix`")
        }
        return masters[Int(owner)]
    }

    /// The master of `slot` in the current map, without reading it; nil before the first read.
    func knownMaster(for slot: Int) -> RedisClusterConfig.Address? {
        guard !owners.isEmpty, owners[slot] >= 0 else { return nil }
        return masters[Int(owners[slot])]
    }

    /// Reads the map from the first node that answers.
    func refresh() throws(BrokerError) {
        if MonotonicClock.now - refreshedAt < Self.minimumRefreshInterval, !owners.isEmpty {
            stale = false
            return
        }
        var failures: [String] = []
        for address in known {
            do throws(BrokerError) {
                let reply = try ask(address)
                try apply(reply, from: address)
                return
            } catch {
                failures.append("\(address): \(error.message)")
            }
        }
        throw BrokerError("no node of the redis cluster answered CLUSTER SLOTS: " + failures.joined(separator: "; ")
            + ". Check the seed addresses of redis-cluster:// (any node of the cluster will do)")
    }

    /// `CLUSTER SLOTS` on `address`, after AUTH when the template has a password.
    private func ask(_ address: RedisClusterConfig.Address) throws(BrokerError) -> RedisReply {
        var node = template
        node.host = address.host
        node.port = address.port
        let stream: any RedisStream
        if let tls = node.tls {
            stream = try TLSTransport(config: tls).connect(to: node)
        } else {
            stream = try TCPTransport.Stream(node: node, connectTimeout: 2, ioTimeout: 2)
        }
        var request = RequestBuffer()
        if let username = node.username {
            request.append(["AUTH", username, node.password ?? ""])
        } else if let password = node.password {
            request.append(["AUTH", password])
        }
        let authenticates = request.commands
        request.append(["CLUSTER", "SLOTS"])
        try stream.write(request.bytes)
        let reader = RedisReplyReader()
        for _ in 0..<authenticates {
            if case .error(let message) = try reader.next(from: stream) {
                throw BrokerError("the login was refused (\(message)): check the user name and password of redis-cluster://",
                                  reason: .authenticationFailed)
            }
        }
        let reply = try reader.next(from: stream)
        if case .error(let message) = reply {
            throw BrokerError("CLUSTER SLOTS failed (\(message)); is it a cluster node (cluster-enabled yes)?")
        }
        return reply
    }

    /// Takes the map of a `CLUSTER SLOTS` reply that `source` gave.
    private func apply(_ reply: RedisReply, from source: RedisClusterConfig.Address) throws(BrokerError) {
        guard case .array(let ranges) = reply else { throw BrokerError("CLUSTER SLOTS answered \(reply)") }
        var owners = [Int32](repeating: -1, count: Self.slotCount)
        var masters: [RedisClusterConfig.Address] = []
        var seen = Set(known)
        for case .array(let range) in ranges {
            guard range.count >= 3, let start = range[0].integer, let end = range[1].integer,
                  start >= 0, end < Self.slotCount, start <= end else { continue }
            var nodes: [RedisClusterConfig.Address] = []
            for case .array(let fields) in range[2...] {
                guard fields.count >= 2, case .bytes(let host) = fields[0], let port = fields[1].integer else { continue }
                let name = String(decoding: host, as: UTF8.self)
                // An empty or unknown host is the node that answered.
                nodes.append(.init(host: name.isEmpty || name == "?" ? source.host : name, port: Int(port)))
            }
            guard let master = nodes.first else { continue }
            let index = masters.firstIndex(of: master) ?? { masters.append(master); return masters.count - 1 }()
            for slot in Int(start)...Int(end) { owners[slot] = Int32(index) }
            for node in nodes where seen.insert(node).inserted { known.append(node) }
        }
        if masters != self.masters {
            logger.info("redis cluster: \(masters.count) master(s) serve the slots: \(masters.map(\.description).joined(separator: ", "))",
                        metadata: ["masters": "\(masters.count)"])
        }
        self.owners = owners
        self.masters = masters
        refreshedAt = MonotonicClock.now
        stale = false
    }
}

// MARK: - Hash slots

extension ClusterSlotMap {
    /// The hash slot of `key` as Redis Cluster computes it: CRC16 (XMODEM) of the key's hash
    /// tag (the text between the first `{` and the next `}`, when not empty) or of the whole
    /// key, modulo 16,384.
    static func slot(of key: String) -> Int {
        var bytes = Array(key.utf8)
        if let open = bytes.firstIndex(of: UInt8(ascii: "{")),
           let close = bytes[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            bytes = Array(bytes[(open + 1)..<close])
        }
        return Int(crc16(bytes) % UInt16(slotCount))
    }

    /// CRC16-CCITT (XMODEM: polynomial 0x1021, initial value 0), the checksum of Redis
    /// Cluster's key slots.
    static func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 {
                crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1
            }
        }
        return crc
    }
}
