// MARK: - RedisNode from a URL

extension RedisNode {
    /// The URL forms ``init(url:)`` reads, for messages about a value that is none of them.
    public static let urlForms = "redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]"
        + " or rediss://[[USER]:PASSWORD@]HOST[:PORT][/DB][?ca_file=PATH&cert_file=PATH&key_file=PATH&server_name=NAME&verify=no]"
        + " or redis-sentinel://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]"
        + " or redis-cluster://[[USER]:PASSWORD@]HOST:PORT[,HOST:PORT...][?shards=K&durability=replicated]"

    /// Parses a node URL; nil when `url` is not one.
    ///
    /// - `redis://[[user]:password@]host[:port][/database]`: plain TCP. With a user, the
    ///   connection logs in with `AUTH user password` (an ACL user); with `:password` alone,
    ///   `AUTH password`; `password@` without a colon is a password too.
    /// - `rediss://…`: the same over TLS, verifying the server against the system's CAs. Query
    ///   parameters set the rest of ``RedisTLSConfig``: `ca_file`, `cert_file`, `key_file`,
    ///   `server_name` and `verify` (`yes`/`no`).
    ///
    /// - `redis-sentinel://[[user]:password@]host:port[,host:port...]/MASTER_NAME[/database]`:
    ///   the master the sentinels monitor as `MASTER_NAME` (``RedisSentinelConfig``); user,
    ///   password and database are the master's. Query parameters: `sentinel_username` and
    ///   `sentinel_password` (the sentinels' own login), `durability` (`acknowledged` or
    ///   `replicated`, ``RedisDurability``).
    ///
    /// User, password and query values may be percent-encoded (`%40` for `@`).
    public init?(url: String) {
        if url.hasPrefix("redis-sentinel://") {
            self.init(sentinelURL: url.dropFirst("redis-sentinel://".count))
            return
        }
        if url.hasPrefix("redis-cluster://") {
            self.init(clusterURL: url.dropFirst("redis-cluster://".count))
            return
        }
        var tls: RedisTLSConfig?
        var rest: Substring
        if url.hasPrefix("redis://") {
            rest = url.dropFirst("redis://".count)
        } else if url.hasPrefix("rediss://") {
            rest = url.dropFirst("rediss://".count)
            tls = RedisTLSConfig()
        } else {
            return nil
        }
        if let question = rest.firstIndex(of: "?") {
            guard tls != nil, let parsed = Self.tlsConfig(query: rest[rest.index(after: question)...]) else { return nil }
            tls = parsed
            rest = rest[..<question]
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            if let colon = credentials.firstIndex(of: ":") {
                guard let user = Self.percentDecoded(credentials[..<colon]),
                      let secret = Self.percentDecoded(credentials[credentials.index(after: colon)...]) else { return nil }
                username = user.isEmpty ? nil : user
                password = secret
            } else {
                guard let secret = Self.percentDecoded(credentials) else { return nil }
                password = secret
            }
            rest = rest[rest.index(after: at)...]
        }
        var database = 0
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else { return nil }
                database = number
            }
            rest = rest[..<slash]
        }
        var port = 6379
        if let colon = rest.lastIndex(of: ":") {
            guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
            rest = rest[..<colon]
        }
        guard !rest.isEmpty else { return nil }
        self.init(host: String(rest), port: port, username: username, password: password?.isEmpty == true ? nil : password,
                  database: database, tls: tls)
    }

    /// `[[user]:password@]host:port[,host:port...]/MASTER_NAME[/database][?query]`, after the scheme.
    private init?(sentinelURL: Substring) {
        var rest = sentinelURL
        var query: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            query = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var credentials = ""
        if let at = rest.lastIndex(of: "@") {
            credentials = String(rest[..<at]) + "@"
            rest = rest[rest.index(after: at)...]
        }
        guard let slash = rest.firstIndex(of: "/") else { return nil }
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        guard let name = path.first, !name.isEmpty, path.count <= 2 else { return nil }
        var sentinels: [RedisSentinelConfig.Address] = []
        for address in rest[..<slash].split(separator: ",") {
            guard let parsed = RedisNode(url: "redis://" + address) else { return nil }
            sentinels.append(.init(host: parsed.host, port: address.contains(":") ? parsed.port : 26379))
        }
        guard let first = sentinels.first,
              var node = RedisNode(url: "redis://\(credentials)\(first.host):\(first.port)/\(path.count == 2 ? path[1] : "0")") else { return nil }
        var sentinel = RedisSentinelConfig(masterName: String(name), sentinels: sentinels)
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Self.percentDecoded(parts[1]) else { return nil }
            switch parts[0] {
            case "sentinel_username": sentinel.username = value.isEmpty ? nil : value
            case "sentinel_password": sentinel.password = value.isEmpty ? nil : value
            case "durability":
                guard let durability = RedisDurability(rawValue: value) else { return nil }
                node.durability = durability
            default: return nil
            }
        }
        node.sentinel = sentinel
        self = node
    }

    /// `[[user]:password@]host:port[,host:port...][/][?shards=K&durability=D]`, after the
    /// scheme: the seeds of a cluster (port 6379 when left out), database 0.
    private init?(clusterURL: Substring) {
        var rest = clusterURL
        var shards = 1
        var durability = RedisDurability.acknowledged
        if let question = rest.firstIndex(of: "?") {
            for pair in rest[rest.index(after: question)...].split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { return nil }
                switch parts[0] {
                case "shards":
                    guard let number = Int(parts[1]), (1...1024).contains(number) else { return nil }
                    shards = number
                case "durability":
                    guard let value = RedisDurability(rawValue: String(parts[1])) else { return nil }
                    durability = value
                default: return nil
                }
            }
            rest = rest[..<question]
        }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("/") else { return nil }
        var credentials = ""
        if let at = rest.lastIndex(of: "@") {
            credentials = String(rest[..<at]) + "@"
            rest = rest[rest.index(after: at)...]
        }
        var seeds: [RedisClusterConfig.Address] = []
        for address in rest.split(separator: ",") {
            guard let parsed = RedisNode(url: "redis://" + address) else { return nil }
            seeds.append(.init(host: parsed.host, port: parsed.port))
        }
        guard let first = seeds.first, var node = RedisNode(url: "redis://\(credentials)\(first.host):\(first.port)/0") else { return nil }
        node.cluster = RedisClusterConfig(seeds: seeds, shards: shards)
        node.durability = durability
        self = node
    }

    /// The TLS settings of a `rediss://` URL's query; nil for an unknown parameter or value.
    private static func tlsConfig(query: Substring) -> RedisTLSConfig? {
        var config = RedisTLSConfig()
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, let value = percentDecoded(parts[1]), !value.isEmpty else { return nil }
            switch parts[0] {
            case "ca_file": config.caFile = value
            case "cert_file": config.certificateFile = value
            case "key_file": config.keyFile = value
            case "server_name": config.serverName = value
            case "verify":
                switch value.lowercased() {
                case "yes", "true", "1": config.verify = true
                case "no", "false", "0": config.verify = false
                default: return nil
                }
            default: return nil
            }
        }
        return config
    }

    /// `text` with `%XX` escapes decoded; nil for a broken escape or bytes that are not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
