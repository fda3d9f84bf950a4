import Foundation
import SergeantBroker
import SergeantCompression
import SergeantCore
import SergeantTestSupport

// MARK: - Cluster rows

extension Bench {
    /// Consume (1,000 per transaction, at-least-once) of one queue spread over as many shards
    /// as the cluster has masters, on Redis Clusters of 1, 2 and 3 masters (no replicas, all
    /// on this machine's loopback), with 1 and 3 workers, beside the same two rows on one
    /// plain redis-server: whether a queue scales with masters. The machine's cores bound it:
    /// on 2 cores, 3 masters and 3 workers share 2 cores.
    func clusterRows() throws -> [Row] {
        var rows: [Row] = []
        for workers in [1, 3] {
            rows.append(Row(section: "cluster", kind: .consumeBatch, system: .this, compressor: "none", atLeastOnce: true,
                            workers: workers, detail: "\(workers) worker\(workers == 1 ? "" : "s") x single redis-server",
                            tasks: options.tasks) { [unowned self] in
                try self.consumeThis(perTransaction: 1000, compressor: "none", atLeastOnce: true, pinned: false, workers: workers)
            })
            for masters in 1...3 {
                rows.append(Row(section: "cluster", kind: .consumeBatch, system: .this, compressor: "none", atLeastOnce: true,
                                workers: workers, nodes: masters,
                                detail: "\(workers) worker\(workers == 1 ? "" : "s") x cluster of \(masters) master\(masters == 1 ? "" : "s")"
                                    + " (\(masters) shard\(masters == 1 ? "" : "s"))",
                                tasks: options.tasks) { [unowned self] in
                    try self.consumeCluster(masters: masters, workers: workers)
                })
            }
        }
        return rows
    }

    /// One cluster row: a cluster of `masters` (started on first use, kept for the run),
    /// emptied, filled with the row's tasks over `masters` shards, consumed by `workers`.
    func consumeCluster(masters: Int, workers: Int) throws -> Sample {
        if clusters[masters] == nil { clusters[masters] = try RedisCluster(masters: masters, replicasPerMaster: 0) }
        let cluster = clusters[masters]!
        for master in try cluster.masters() { _ = try cluster.cli(master, "FLUSHALL") }
        let url = cluster.url(query: "shards=\(masters)")
        let broker = Broker(connector: RedisClusterConnector(node: RedisNode(url: url)!, logger: logger), encoder: TaskEncoder())
        var left = options.tasks
        while left > 0 {
            // In chunks, so the rotation spreads them over the shards.
            let count = min(1000, left)
            try broker.push(tasks: (0..<count).map { _ in SergeantTask(kwargs: benchKwargs) }, queue: benchQueue)
            left -= count
        }
        let report = ReportFile()
        var environment = pluginEnvironment(nodes: [redis], perTransaction: 1000, compressor: "none", atLeastOnce: true,
                                            threads: 1, report: report.path)
        environment["SERGEANT_REDIS"] = url
        let host = try startHost(workers: workers, environment: environment, pinned: false)
        defer { host.stop() }
        return try waitForTotals(report, process: host)
    }
}
