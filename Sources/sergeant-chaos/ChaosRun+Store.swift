import Foundation
import SergeantBroker
import SergeantCore

// MARK: - Store

/// Reading the queue's state from whichever store the workers use: redis-server (lists and
/// KEYS) or the local connector's SQLite file (its own connection).
extension ChaosRun {
    var isLocal: Bool { settings.connector == "local" }

    /// The SQLite file of a local run.
    var localFile: String { directory + "/queue.sqlite3" }

    /// `key` of the queue as a cluster run's connector names it: `{NAME}.REST`.
    func clusterKey(_ key: String) -> String {
        key.hasPrefix(queue) ? "{\(queue)}" + key.dropFirst(queue.count) : key
    }

    /// Queued items of a list (delayed ones not counted; on a cluster, due ones and the
    /// recovered list counted); nil when the store does not answer.
    func length(_ key: String) -> Int? {
        if let clusterConnector { return try? clusterConnector.length(queue: clusterKey(key), includeDelayed: false) }
        guard let local else { return integer("LLEN", key) }
        return try? local.length(queue: key, includeDelayed: false)
    }

    /// Delayed items of a queue that are not due yet (redis: all of its sorted set).
    func delayedCount(_ key: String) -> Int? {
        if let clusterConnector {
            guard let all = try? clusterConnector.length(queue: clusterKey(key), includeDelayed: true),
                  let due = try? clusterConnector.length(queue: clusterKey(key), includeDelayed: false) else { return nil }
            return all - due
        }
        guard let local else { return integer("ZCARD", KeySpace.delayedSet(of: key)) }
        guard let all = try? local.length(queue: key, includeDelayed: true), let due = try? local.length(queue: key, includeDelayed: false) else {
            return nil
        }
        return all - due
    }

    /// The items of a list, head first.
    func list(_ key: String) -> [[UInt8]] {
        if let local { return (try? local.peek(queue: key, count: Int(Int32.max))) ?? [] }
        if let clusterConnector { return (try? clusterConnector.peek(queue: clusterKey(key), count: Int(Int32.max))) ?? [] }
        guard case .array(let items)? = try? command("LRANGE", key, "0", "-1") else { return [] }
        return items.compactMap { if case .bytes(let item) = $0 { return item } else { return nil } }
    }

    /// Every in-flight and reclaimed record of the queue: its key (or worker) and its items.
    func inFlightRecords() -> [(name: String, items: [[UInt8]])]? {
        if let local {
            guard let rows = try? local.inFlightItems(queue: queue) else { return nil }
            return Dictionary(grouping: rows, by: \.worker).map { ($0.key, $0.value.map(\.item)) }
        }
        var records: [(name: String, items: [[UInt8]])] = []
        if let cluster {
            // Every shard's records, on every master (KEYS, then LRANGE there).
            guard let masters = try? cluster.masters() else { return nil }
            for master in masters {
                let connection = RedisConnection(node: master.node, logger: quiet, reconnectTimeout: 2)
                for pattern in ["{\(queue)#*}.processing.*", "{\(queue)#*}.reclaimed.*"] {
                    guard case .array(let keys)? = try? connection.command("KEYS", pattern) else { return nil }
                    for case .bytes(let key) in keys {
                        let name = String(decoding: key, as: UTF8.self)
                        guard case .array(let items)? = try? connection.command("LRANGE", name, "0", "-1") else { return nil }
                        records.append((name, items.compactMap { if case .bytes(let item) = $0 { item } else { nil } }))
                    }
                }
            }
            return records
        }
        for pattern in [KeySpace(queue: queue).processing("*"), KeySpace(queue: queue).reclaimed("*")] {
            guard case .array(let keys)? = try? command("KEYS", pattern) else { return nil }
            for case .bytes(let key) in keys {
                let name = String(decoding: key, as: UTF8.self)
                records.append((name, list(name)))
            }
        }
        return records
    }
}
