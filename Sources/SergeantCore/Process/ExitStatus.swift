#if canImport(Glibc)
import Glibc
#endif

// MARK: - ExitStatus

/// How a reaped process ended: the status `waitpid` reported.
package struct ExitStatus: Sendable, Equatable {
    /// The raw `waitpid` status.
    package let raw: Int32

    /// Wraps a raw `waitpid` status.
    package init(raw: Int32) {
        self.raw = raw
    }

    /// The signal that ended the process, if one did.
    package var signal: Int32? { (raw & 0x7f) != 0 ? raw & 0x7f : nil }

    /// The exit code (0 when a signal ended the process).
    package var code: Int32 { (raw >> 8) & 0xff }

    /// The shell's number for it: the exit code, or 128 + the signal.
    package var shellCode: Int32 { signal.map { 128 + $0 } ?? code }

    /// Reaps `pid` if it has exited (`waitpid(pid, WNOHANG)`); nil while it runs.
    package static func reap(_ pid: pid_t) -> ExitStatus? {
        var status: Int32 = 0
        return waitpid(pid, &status, WNOHANG) == pid ? ExitStatus(raw: status) : nil
    }
}
