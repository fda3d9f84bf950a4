import Foundation

// MARK: - SoakVerdict

/// The figures of one executor's soak and whether they pass: after warm-up, no worker's
/// resident memory grows by `rssGrowthLimit` percent or more (its last sample under load
/// against its first after warm-up) and no worker's descriptor count rises at all, idle at
/// the end included. The idle sample's RSS is reported, not judged: the first time the queue
/// runs dry a worker runs its starvation handler, once. The supervisor's and Redis's figures
/// are reported, not judged.
struct SoakVerdict {
    /// One process's figures.
    struct Process {
        var role: SoakSample.Role
        var pid: pid_t
        /// VmRSS at the first sample after warm-up, at the last under load, idle at the end,
        /// and the largest after warm-up (kB).
        var residentAtWarmUp: Int
        var residentAtEnd: Int
        var residentIdle: Int
        var residentMax: Int
        /// Descriptors at the first sample after warm-up, and the most after warm-up.
        var descriptorsAtWarmUp: Int
        var descriptorsMax: Int

        var growthPercent: Double {
            Double(residentAtEnd - residentAtWarmUp) / Double(max(1, residentAtWarmUp)) * 100
        }
    }

    let executor: SoakExecutor
    let tasks: Int
    let seconds: Double
    let processes: [Process]
    let redisAtWarmUp: Int
    let redisAtEnd: Int
    let redisMax: Int
    let samples: Int
    /// Why the run fails; empty when it passes.
    let failures: [String]

    var passed: Bool { failures.isEmpty }

    /// `newDescriptors`: per process, what the descriptors it opened after warm-up point to.
    init(executor: SoakExecutor, tasks: Int, seconds: Double, samples all: [SoakSample], rssGrowthLimit: Double,
         newDescriptors: [pid_t: [String]] = [:]) {
        self.executor = executor
        self.tasks = tasks
        self.seconds = seconds
        let after = all.filter { $0.executor == executor && $0.phase != .warmUp }
        samples = Set(after.filter { $0.phase == .load }.map(\.elapsed)).count
        var failures: [String] = []
        var processes: [Process] = []
        var pids: [pid_t] = []
        for sample in after where !pids.contains(sample.pid) { pids.append(sample.pid) }
        for pid in pids {
            let rows = after.filter { $0.pid == pid }
            let load = rows.filter { $0.phase == .load }
            guard let first = load.first, let last = load.last else { continue }
            let process = Process(role: first.role, pid: pid, residentAtWarmUp: first.residentKilobytes,
                                  residentAtEnd: last.residentKilobytes,
                                  residentIdle: rows.last { $0.phase == .idle }?.residentKilobytes ?? last.residentKilobytes,
                                  residentMax: rows.map(\.residentKilobytes).max() ?? 0,
                                  descriptorsAtWarmUp: first.descriptors, descriptorsMax: rows.map(\.descriptors).max() ?? 0)
            processes.append(process)
            guard process.role == .worker else { continue }
            if process.growthPercent >= rssGrowthLimit {
                failures.append(String(format: "worker %d: RSS grew %.1f%% after warm-up (%d kB -> %d kB), the limit is %.1f%%",
                                       pid, process.growthPercent, process.residentAtWarmUp, process.residentAtEnd, rssGrowthLimit))
            }
            if process.descriptorsMax > process.descriptorsAtWarmUp {
                let opened = newDescriptors[pid].map { $0.isEmpty ? "" : " (new: \($0.joined(separator: ", ")))" } ?? ""
                failures.append("worker \(pid): open descriptors rose from \(process.descriptorsAtWarmUp) to \(process.descriptorsMax) after warm-up\(opened)")
            }
        }
        if samples < 2 {
            failures.append("only \(samples) sample(s) under load after warm-up: lower --interval, --warm-up or --warm-up-seconds, "
                            + "or push more --tasks")
        }
        let times = Array(Set(after.map(\.elapsed))).sorted()
        let redis = times.compactMap { time in after.first { $0.elapsed == time }?.redisUsedMemory }
        redisAtWarmUp = redis.first ?? 0
        redisAtEnd = redis.last ?? 0
        redisMax = redis.max() ?? 0
        self.processes = processes
        self.failures = failures
    }

    /// The lines the soak prints for this executor, PASS or FAIL first.
    var lines: [String] {
        var lines = ["\(passed ? "PASS" : "FAIL") \(executor.rawValue): "
                     + String(format: "%d tasks in %.1f s (%.0f tasks/s), %d samples after warm-up",
                              tasks, seconds, Double(tasks) / max(seconds, 0.001), samples)]
        for process in processes {
            lines.append("  \(process.role.rawValue) " + String(format: "%d: RSS %.2f MB at warm-up end -> %.2f MB at the end of the load "
                                                                  + "(%+.2f%%; idle after it %.2f MB, max %.2f MB), fds %d at warm-up end, max %d",
                                process.pid, Double(process.residentAtWarmUp) / 1024,
                                Double(process.residentAtEnd) / 1024, process.growthPercent, Double(process.residentIdle) / 1024,
                                Double(process.residentMax) / 1024, process.descriptorsAtWarmUp, process.descriptorsMax))
        }
        lines.append(String(format: "  redis used_memory: %.2f MB at warm-up end -> %.2f MB at the end, max %.2f MB",
                            Double(redisAtWarmUp) / 1_048_576, Double(redisAtEnd) / 1_048_576, Double(redisMax) / 1_048_576))
        lines += failures.map { "  failed: " + $0 }
        return lines
    }
}
