import Foundation

// MARK: - SoakSample

/// One reading of one process during a soak: a row of the CSV.
struct SoakSample: Sendable {
    /// The process a sample is of.
    enum Role: String, Sendable {
        case worker, supervisor
    }

    /// Where in the run a sample was taken.
    enum Phase: String, Sendable {
        /// Before the baseline.
        case warmUp = "warm-up"
        /// From the baseline (the first sample of this phase) to the last task.
        case load
        /// Every task worked, the workers idle (the last sample).
        case idle
    }

    var executor: SoakExecutor
    /// Seconds since the run's first push.
    var elapsed: Double
    /// Tasks taken off the queue so far (pushed minus waiting).
    var worked: Int
    /// Tasks waiting in the queue.
    var depth: Int
    var role: Role
    var pid: pid_t
    /// VmRSS in kB.
    var residentKilobytes: Int
    /// Entries of /proc/PID/fd.
    var descriptors: Int
    /// Redis INFO memory's used_memory, in bytes.
    var redisUsedMemory: Int
    var phase: Phase

    static let csvHeader = "executor,elapsed_s,worked,queue_depth,role,pid,rss_kb,fds,redis_used_memory,phase"

    var csvLine: String {
        [executor.rawValue, String(format: "%.2f", elapsed), String(worked), String(depth), role.rawValue, String(pid),
         String(residentKilobytes), String(descriptors), String(redisUsedMemory), phase.rawValue]
            .joined(separator: ",")
    }
}
