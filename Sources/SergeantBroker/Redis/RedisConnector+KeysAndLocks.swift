import CCompression
import Logging
import SergeantCore

// MARK: - Keys and locks

extension RedisConnector {
    // MARK: Keys

    public func keySet(_ key: String, value: [UInt8]) throws(BrokerError) -> Bool {
        try connection(for: key).command([Array("GETSET".utf8), Array(key.utf8), value]) == .null
    }

    public func keyGet(_ key: String) throws(BrokerError) -> [UInt8]? {
        if case .bytes(let value) = try connection(for: key).command("GET", key) { return value }
        return nil
    }

    public func keyDelete(_ key: String) throws(BrokerError) -> Bool {
        try (connection(for: key).command("DEL", key).integer ?? 0) > 0
    }

    // MARK: Locks

    public func lockTryAcquire(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        let reply = try connection(for: name).command([
            Array("SET".utf8), Array(KeySpace.lock(name).utf8), [], Array("NX".utf8), Array("EX".utf8), Array(String(ttl).utf8),
        ])
        return reply == .status("OK")
    }

    public func lockRelease(_ name: String) throws(BrokerError) -> Bool {
        try (connection(for: name).command("DEL", KeySpace.lock(name)).integer ?? 0) == 1
    }

    public func lockIsLocked(_ name: String) throws(BrokerError) -> Bool {
        try (connection(for: name).command("EXISTS", KeySpace.lock(name)).integer ?? 0) == 1
    }

    public func lockSetTTL(_ name: String, ttl: Int) throws(BrokerError) -> Bool {
        try (connection(for: name).command("EXPIRE", KeySpace.lock(name), String(ttl)).integer ?? 0) == 1
    }

    public func lockGetTTL(_ name: String) throws(BrokerError) -> Int? {
        let ttl = try connection(for: name).command("TTL", KeySpace.lock(name)).integer ?? -2
        return ttl >= 0 ? Int(ttl) : nil
    }
}
