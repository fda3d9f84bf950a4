import Foundation
import SergeantBroker
import SergeantCore
import SergeantTestSupport

// MARK: - Local connector

extension Bench {
    /// The embedded SQLite connector in this process (no worker, no Redis): single pushes and
    /// pops in batches of 1,000, each run on a fresh file in the temp directory.
    func localConnectorExtras(tasks: Int, runs: Int) throws -> [Extra] {
        var pushes: [Double] = []
        var pops: [Double] = []
        let items = (0..<tasks).map { SergeantTask(kwargs: ["n": .int(Int64($0))]).messagePack() }
        for run in 0..<runs {
            let path = NSTemporaryDirectory() + "sergeant-bench-local-\(getpid())-\(run).sqlite3"
            defer { for suffix in ["", "-wal", "-shm"] { unlink(path + suffix) } }
            let connector = try LocalConnector(filePath: path)
            var started = unixTime()
            for item in items { try connector.push(queue: "bench", items: [item], priority: .normal, consumableFrom: nil) }
            pushes.append((unixTime() - started) / Double(tasks))
            started = unixTime()
            var popped = 0
            while case let batch = try connector.pop(queue: "bench", count: 1_000), !batch.isEmpty { popped += batch.count }
            guard popped == tasks else { throw SupportError("the local connector popped \(popped) of \(tasks) tasks") }
            pops.append((unixTime() - started) / Double(tasks))
        }
        func rate(_ seconds: Double?) -> String { seconds.map { String(format: "%.0f tasks/s", 1 / $0) } ?? "?" }
        return [
            Extra(section: "local connector", label: "local connector: push one by one, per task", system: .this,
                  median: median(pushes) ?? 0, samples: pushes.count, note: "\(rate(median(pushes))), \(tasks) tasks"),
            Extra(section: "local connector", label: "local connector: pop 1000 per transaction, per task", system: .this,
                  median: median(pops) ?? 0, samples: pops.count, note: "\(rate(median(pops))), \(tasks) tasks"),
        ]
    }
}
