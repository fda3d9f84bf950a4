import Foundation
import Logging
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - Sentinel

extension Bench {
    /// The cost per push behind Sentinel (one master, one loopback replica, three sentinels):
    /// pushes one by one through `redis-sentinel://` in this process, with durability
    /// `acknowledged` (Redis's own) and `replicated` (`WAIT 1 1000` in the push's round trip),
    /// alternating run by run so both see the same load.
    func sentinelExtras(tasks: Int, runs: Int) throws -> [Extra] {
        let group = try SentinelGroup()
        defer { group.stop() }
        let quiet = Logger(label: "sergeant-bench") { _ in SwiftLogNoOpLogHandler() }
        let items = (0..<tasks).map { SergeantTask(kwargs: ["n": .int(Int64($0))]) }
        var perPush: [String: [Double]] = [:]
        let modes = ["acknowledged", "replicated"]
        for _ in 0..<runs {
            for mode in modes {
                let node = RedisNode(url: group.url(durability: mode))!
                let broker = Broker(connector: RedisConnector(nodes: [node], logger: quiet), encoder: TaskEncoder())
                _ = try broker.purge(queue: "bench")
                try broker.push(tasks: [items[0]], queue: "bench")  // connects (asks the sentinels) outside the timing
                let started = unixTime()
                for task in items { try broker.push(tasks: [task], queue: "bench") }
                perPush[mode, default: []].append((unixTime() - started) / Double(tasks))
            }
        }
        let acknowledged = median(perPush["acknowledged"] ?? []) ?? 0
        return modes.map { mode in
            let value = median(perPush[mode] ?? []) ?? 0
            let cost = mode == "replicated" && acknowledged > 0
                ? String(format: ", %.2fx acknowledged's", value / acknowledged) : ""
            return Extra(section: "sentinel", label: "sentinel: push one by one, per push, durability \(mode)", system: .this,
                         median: value, samples: perPush[mode]?.count ?? 0,
                         note: String(format: "%.0f pushes/s%@, %d tasks, loopback replica", value > 0 ? 1 / value : 0, cost, tasks))
        }
    }
}
