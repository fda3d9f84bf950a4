#if canImport(Glibc)
import Glibc
#endif

// MARK: - WorkerReadiness

/// How a worker process tells its supervisor that it is ready (plugin loaded, configuration
/// read, broker open, `initialize` done): a real-time signal to its parent, which the kernel
/// queues (one per worker, none lost, unlike SIGUSR1) and which carries the sender's pid. The
/// supervisor names the signal in ``WorkerLaunch/readySignal``; a worker started without it
/// (by hand, by a test) sends nothing, so no other parent ever receives an unexpected signal.
///
/// A rolling restart (SIGHUP) waits for the new worker's signal before it stops an old one.
public enum WorkerReadiness {
    /// The signal sergeant-host asks for: a real-time signal above glibc's reserved ones.
    public static var signal: Int32 { __libc_current_sigrtmin() + 4 }

    /// Sends `signal` to the parent process; nil sends nothing.
    public static func announce(_ signal: Int32?) {
        guard let signal, getppid() != 1 else { return }
        kill(getppid(), signal)
    }
}
