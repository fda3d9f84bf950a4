import CCompression
import Logging
import SergeantCore

// MARK: - Recovery

extension RedisConnector {
    public func reclaim(_ keys: KeySpace, worker: String?, alsoExpired: Bool, by claimant: String) throws(BrokerError) -> [[UInt8]] {
        let queue = keys.queue
        var items: [[UInt8]] = []
        let mine = keys.reclaimed(claimant)
        try onEveryNode("reclaiming in-flight tasks") { connection throws(BrokerError) in
            var candidates = worker.map { [($0, "dead")] } ?? []
            if alsoExpired, case .array(let members) = try connection.command("SMEMBERS", KeySpace(queue: queue).processingSet) {
                for case .bytes(let member) in members {
                    let id = String(decoding: member, as: UTF8.self)
                    guard id != claimant, id != worker else { continue }
                    candidates.append((id, "expired"))
                }
            }
            for (id, state) in candidates {
                // A live worker's heartbeat is checked in the same step that takes its list,
                // so a worker whose heartbeat is there is never robbed.
                let reply = try connection.evaluate(RedisScripts.reclaimScript, keys: [
                    keys.processing(id), keys.heartbeat(id), keys.processingSet, keys.batch(id), mine, keys.reclaimed(id),
                ], arguments: [Array(id.utf8), Array(state.utf8)])
                if case .error(let message) = reply { throw BrokerError("reclaiming the tasks of \(id) failed: \(message)") }
            }
            // The whole reclaimed list, not the scripts' replies: it also holds what a script
            // whose reply was lost, or an earlier recovery that failed halfway, moved there.
            try collect(try connection.command("LRANGE", mine, "0", "-1"), into: &items, queue: queue)
        }
        // The caller pushes them to the recovered list: pops go through the script again.
        if !items.isEmpty, let single = inFlightPop, single.queue == queue {
            single.recoveredWaiting = Array(repeating: true, count: connections.count)
        }
        return items
    }

    public func releaseReclaimed(_ keys: KeySpace, by claimant: String) throws(BrokerError) {
        try onEveryNode("releasing reclaimed tasks") { connection throws(BrokerError) in
            _ = try connection.command("DEL", keys.reclaimed(claimant))
        }
    }

    public func countDeath(_ keys: KeySpace, item: [UInt8]) throws(BrokerError) -> Int {
        let queue = keys.queue
        let digest = Array(String(crc32Digest(item), radix: 16).utf8) + Array(String(item.count).utf8)
        let reply = try connection(for: KeySpace(queue: queue).deaths).command([Array("HINCRBY".utf8), Array(KeySpace(queue: queue).deaths.utf8), digest, Array("1".utf8)])
        return Int(reply.integer ?? 0)
    }

    func crc32Digest(_ bytes: [UInt8]) -> UInt {
        bytes.withUnsafeBufferPointer { crc32(0, $0.baseAddress, UInt32($0.count)) }
    }
}
