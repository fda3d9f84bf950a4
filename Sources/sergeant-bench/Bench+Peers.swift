import Foundation
import SergeantTestSupport

// MARK: - Peers

/// Sidekiq, RQ and Dramatiq on the same private redis-server, interleaved with the other
/// rows run by run: a no-op job (bench/peers), pushed one by one and in bulk through each
/// peer's own client, and consumed by one worker process, timed from the first job's start
/// to the last job's end as the other consume rows are. Peers run `--peer-tasks` jobs per
/// sample (RQ makes about 30 round trips per job); ratios compare seconds per task.
extension Bench {
    /// The peer rows of `kind`: none for consume 1,000 per transaction (no peer fetches in
    /// batches: those rows are compared with the peers' consume rows).
    func peerRows(kind: Kind) -> [Row] {
        guard let peerTools else { return [] }
        let tasks = options.peerTasks
        func row(_ system: System, _ detail: String, _ measure: @escaping () throws -> Sample) -> Row {
            Row(section: "main", kind: kind, system: system, detail: detail, tasks: tasks, measure: measure)
        }
        switch kind {
        case .pushOne:
            return [
                row(.sidekiq, "Sidekiq::Client.push per job") { [unowned self] in try self.pushPeer(.sidekiq, kind: kind, tools: peerTools) },
                row(.rq, "Queue.enqueue per job") { [unowned self] in try self.pushPeer(.rq, kind: kind, tools: peerTools) },
                row(.dramatiq, "actor.send per message") { [unowned self] in try self.pushPeer(.dramatiq, kind: kind, tools: peerTools) },
            ]
        case .pushBulk:
            // Dramatiq has no bulk enqueue (a group sends message by message): no row.
            return [
                row(.sidekiq, "Sidekiq::Client.push_bulk (one LPUSH)") { [unowned self] in
                    try self.pushPeer(.sidekiq, kind: kind, tools: peerTools)
                },
                row(.rq, "Queue.enqueue_many (one pipeline)") { [unowned self] in try self.pushPeer(.rq, kind: kind, tools: peerTools) },
            ]
        case .consumeOne:
            return [
                row(.sidekiq, "1 process, concurrency 10 (default), at-most-once") { [unowned self] in
                    try self.consumePeer(.sidekiq, threads: nil, tools: peerTools)
                },
                row(.sidekiq, "1 process, concurrency 1, at-most-once") { [unowned self] in
                    try self.consumePeer(.sidekiq, threads: 1, tools: peerTools)
                },
                row(.rq, "1 SimpleWorker process (no fork per job)") { [unowned self] in
                    try self.consumePeer(.rq, threads: nil, tools: peerTools)
                },
                row(.dramatiq, "1 process x 8 threads (default), acks") { [unowned self] in
                    try self.consumePeer(.dramatiq, threads: nil, tools: peerTools)
                },
            ]
        case .consumeBatch:
            return []
        }
    }

    func peerEnvironment(tools: PeerTools, tasks: Int, report: String?) -> [String: String] {
        var environment = [
            "BENCH_REDIS_PORTS": String(redis.port),
            "BENCH_QUEUE": benchQueue,
            "BENCH_TASKS": String(tasks),
            "PYTHONPATH": tools.directory,
            "PYTHONDONTWRITEBYTECODE": "1",
        ]
        if let report { environment["BENCH_REPORT"] = report }
        return environment
    }

    /// A peer's producer, pinned with redis-server for push one by one; prints `seconds S vmhwm_kb K`.
    func pushPeer(_ system: System, kind: Kind, tools: PeerTools) throws -> Sample {
        try prepare(pinned: kind.isSingle)
        let result = try Spawned.run(tools.producer(system, action: "push", mode: kind == .pushOne ? "one" : "bulk", tasks: options.peerTasks),
                                     environment: peerEnvironment(tools: tools, tasks: options.peerTasks, report: nil),
                                     cores: kind.isSingle ? "0" : nil)
        return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
    }

    /// Fills the queue through the peer's client (untimed), then starts one worker process
    /// pinned with redis-server to core 0, as the other consume-1 rows are, and waits for
    /// its `done` line.
    func consumePeer(_ system: System, threads: Int?, tools: PeerTools) throws -> Sample {
        try prepare(pinned: true)
        let tasks = options.peerTasks
        let report = ReportFile()
        let environment = peerEnvironment(tools: tools, tasks: tasks, report: report.path)
        _ = try Spawned.run(tools.producer(system, action: "fill", mode: "bulk", tasks: tasks), environment: environment)
        let worker = try Spawned(tools.worker(system, queue: benchQueue, threads: threads), environment: environment, cores: "0")
        defer { worker.stop(grace: 0) }
        return try waitForTotals(report, process: worker, tasks: tasks, secondsPerTask: 0.05)
    }
}
