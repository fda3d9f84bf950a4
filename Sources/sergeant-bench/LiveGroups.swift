#if canImport(Glibc)
import Glibc
#endif

// MARK: - LiveGroups

/// The process groups the benchmark started and has not reaped: SIGINT, SIGTERM or SIGHUP
/// of the benchmark kills them (they are not in its group, so a Ctrl-C would miss them).
enum LiveGroups {
    private static let capacity = 256
    /// A fixed table the signal handler reads without allocating; 0 marks a free slot.
    nonisolated(unsafe) private static let table: UnsafeMutablePointer<pid_t> = {
        let table = UnsafeMutablePointer<pid_t>.allocate(capacity: capacity)
        table.initialize(repeating: 0, count: capacity)
        return table
    }()

    static func add(_ pid: pid_t) {
        for index in 0..<capacity where table[index] == 0 {
            table[index] = pid
            return
        }
    }

    static func remove(_ pid: pid_t) {
        for index in 0..<capacity where table[index] == pid { table[index] = 0 }
    }

    /// Installs the handler that kills every live group, then exits 130.
    static func installCleanup() {
        _ = table
        let handler: @convention(c) (Int32) -> Void = { _ in
            for index in 0..<LiveGroups.capacity where LiveGroups.table[index] > 0 { kill(-LiveGroups.table[index], SIGKILL) }
            _exit(130)
        }
        for signal in [SIGINT, SIGTERM, SIGHUP] { _ = Glibc.signal(signal, handler) }
    }
}
