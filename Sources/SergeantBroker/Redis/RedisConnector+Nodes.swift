import CCompression
import Logging
import SergeantCore

// MARK: - Node rotation

/// How the connector picks nodes, as Python sergeant: round robin from a random start, every
/// node for reads that add up, `crc32(name) % count` for keys and locks, and a node that fails
/// skipped for ``RedisConnector/downTime`` seconds while the others carry on.
extension RedisConnector {
    /// and the next one is tried. Throws when every node failed.
    func onNextNode<T>(_ body: (RedisConnection) throws(BrokerError) -> T) throws(BrokerError) -> T {
        try onNextNode { (_: Int, connection: RedisConnection) throws(BrokerError) -> T in try body(connection) }
    }

    /// ``onNextNode(_:)`` that also tells `body` the node's index.
    func onNextNode<T>(_ body: (Int, RedisConnection) throws(BrokerError) -> T) throws(BrokerError) -> T {
        var lastError = BrokerError("no redis node is available")
        let now = MonotonicClock.now
        for attempt in 0..<connections.count {
            let index = nextIndex
            nextIndex = (nextIndex + 1) % connections.count
            // When every node is down, try them anyway rather than fail without trying.
            if connections.count > 1 && downUntil[index] > now && attempt < connections.count - 1
                && downUntil.contains(where: { $0 <= now }) { continue }
            handOverStaged(to: connections[index])
            do {
                let result = try body(index, connections[index])
                downUntil[index] = 0
                return result
            } catch {
                lastError = error
                markDown(index, error)
            }
        }
        throw lastError
    }

    /// Runs `body` on every live node; failures of some nodes (not all) are logged and skipped.
    func onEveryNode(_ what: String, _ body: (RedisConnection) throws(BrokerError) -> Void) throws(BrokerError) {
        var failures: [BrokerError] = []
        let now = MonotonicClock.now
        for (index, connection) in connections.enumerated() {
            if connections.count > 1 && downUntil[index] > now { failures.append(BrokerError("node \(connection.node) is down")); continue }
            if failures.count == index { handOverStaged(to: connection) }
            do { try body(connection) } catch {
                failures.append(error)
                markDown(index, error)
            }
        }
        if failures.count == connections.count { throw failures[0] }
        if !failures.isEmpty { logger.warning("\(what) skipped \(failures.count) unavailable node(s): \(failures[0].message)") }
    }

    /// Staged counter updates ride on `connection`'s next round trip.
    @inline(__always)
    func handOverStaged(to connection: RedisConnection) {
        guard !stagedStats.isEmpty else { return }
        connection.piggyback(stagedStats)
        stagedStats.removeAll()
    }

    func markDown(_ index: Int, _ error: BrokerError) {
        guard connections.count > 1 else { return }
        downUntil[index] = MonotonicClock.now + Self.downTime
        logger.warning("redis node \(connections[index].node) skipped for \(Int(Self.downTime)) s: \(error.message)")
    }

    func connection(for name: String) -> RedisConnection {
        let bytes = Array(name.utf8)
        let checksum = bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
        return connections[Int(checksum % UInt(connections.count))]
    }
}
