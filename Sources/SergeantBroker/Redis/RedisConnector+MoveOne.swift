import SergeantCore

// MARK: - One entry of a list

extension RedisConnector {
    /// Removes one item equal to ARGV[1] from KEYS[1] and, with a KEYS[2], appends ARGV[2] to
    /// it, atomically. Returns 1 when the item was there, else 0 (nothing changed).
    static let moveOneScript = LuaScript("""
        if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then
            return 0
        end
        if #KEYS > 1 then
            redis.call('RPUSH', KEYS[2], ARGV[2])
        end
        return 1
        """)

    /// One script per node until a node held the item: each node's list is a part of the whole
    /// (pushes rotate over the nodes), and the item moves within its node.
    public func moveOne(_ item: [UInt8], from source: String, to destination: String?, as replacement: [UInt8]) throws(BrokerError) -> Bool {
        var found = false
        try onEveryNode("moving one item of \(source)") { connection throws(BrokerError) in
            guard !found else { return }
            let reply = try connection.evaluate(Self.moveOneScript, keys: [source] + (destination.map { [$0] } ?? []),
                                                arguments: [item, replacement])
            if case .error(let message) = reply {
                throw BrokerError("moving one item of \(source)\(destination.map { " to \($0)" } ?? "") failed: \(message)")
            }
            found = reply.integer == 1
        }
        return found
    }
}
