import Foundation
import SergeantTestSupport

// MARK: - Concurrent producers

/// Swift tasks that push at once through one SergeantClient in the producers rows.
let producerTasks = 100

extension Bench {
    /// 100,000 tasks (`--producer-tasks`) pushed one by one: by 100 Swift tasks sharing one
    /// SergeantClient (its auto-pipelining batches what they push at once), by the raw
    /// hiredis loop (one RPUSH per round trip), and by Python sergeant's `push_task` from 16
    /// threads. Unpinned.
    func producerRows() -> [Row] {
        let tasks = options.producerTasks
        return [
            Row(section: "producers", kind: .pushOne, system: .this, threads: producerTasks,
                detail: "SergeantClient, \(producerTasks) Swift tasks pushing one by one", tasks: tasks) { [unowned self] in
                try self.prepare(pinned: false)
                let result = try Spawned.run([self.pushPath, "push-client", "--port", String(self.redis.port), "--tasks", String(tasks),
                                              "--producers", String(producerTasks)])
                return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
            },
            Row(section: "producers", kind: .pushOne, system: .limit, threads: 1,
                detail: "hiredis C loop, RPUSH one per round trip", tasks: tasks) { [unowned self] in
                try self.prepare(pinned: false)
                let result = try Spawned.run([self.rawPath, String(self.redis.port), String(tasks), String(self.payloadBytes), "rpush"])
                return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
            },
            Row(section: "producers", kind: .pushOne, system: .python, threads: 16,
                detail: "push_task from 16 threads", tasks: tasks) { [unowned self] in
                try self.prepare(pinned: false)
                let result = try Spawned.run([self.pythonPath, self.benchDirectory + "/python_bench.py", "push", "--mode", "threads",
                                              "--threads", "16", "--tasks", String(tasks)],
                                             environment: self.pythonEnvironment(compressor: "none", perTransaction: 1, report: nil))
                return Sample(seconds: try field("seconds", in: result), peakKilobytes: Int(try field("vmhwm_kb", in: result)))
            },
        ]
    }
}
