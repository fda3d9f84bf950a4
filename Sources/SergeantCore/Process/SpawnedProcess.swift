#if canImport(Glibc)
import Glibc
#endif

// MARK: - SpawnedProcess

/// A child process started by ``ProcessSpawner``, reaped by its own pid (`waitpid(pid)`,
/// never `waitpid(-1)`, so the children of other code in this process are left alone).
/// Not thread-safe: one owner polls it.
package final class SpawnedProcess {
    /// The process id.
    package let pid: pid_t
    /// Unix time just before `posix_spawn`.
    package let started: Double
    /// How it ended, once reaped.
    package private(set) var exitStatus: ExitStatus?

    /// Starts the process `spawner` describes.
    package init(_ spawner: ProcessSpawner) throws(SpawnError) {
        started = unixTime()
        pid = try spawner.spawn()
    }

    /// True while the process has not been reaped; reaps it (without blocking) when it has exited.
    package var isRunning: Bool {
        if exitStatus != nil { return false }
        exitStatus = ExitStatus.reap(pid)
        return exitStatus == nil
    }

    /// Sends `signal` to the process.
    package func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits (polling every `pollInterval` seconds) up to `timeout` seconds for the process to
    /// exit; returns its exit code (128 + the signal when a signal ended it), nil on timeout.
    @discardableResult
    package func wait(timeout: Double, pollInterval: Double = 0.005) -> Int32? {
        let deadline = unixTime() + timeout
        while isRunning {
            if unixTime() > deadline { return nil }
            usleep(useconds_t(pollInterval * 1_000_000))
        }
        return exitStatus?.shellCode
    }
}
