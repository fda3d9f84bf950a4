import Foundation

// MARK: - SoakSample

/// One reading of one process during a soak: a row of the CSV.
struct SoakSample: Sendable {
    /// The process a sample is of.
    enum Role: String, Sendable {
        case worker, supervisor
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
    /// True from the first sample after warm-up on.
    var afterWarmUp: Bool

    static let csvHeader = "executor,elapsed_s,worked,queue_depth,role,pid,rss_kb,fds,redis_used_memory,after_warm_up"

    var csvLine: String {
        [executor.rawValue, String(format: "%.2f", elapsed), String(worked), String(depth), role.rawValue, String(pid),
         String(residentKilobytes), String(descriptors), String(redisUsedMemory), afterWarmUp ? "1" : "0"]
            .joined(separator: ",")
    }
}
