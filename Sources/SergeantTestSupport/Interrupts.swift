import Foundation

// MARK: - Interrupts

nonisolated(unsafe) private var interruptReceived: sig_atomic_t = 0

/// For the repository's long-running tools (sergeant-chaos, sergeant-soak): SIGINT and SIGTERM
/// end the run early instead of killing the tool, so what it started is still stopped. The
/// tool polls ``interrupted`` in its loops.
public func installInterruptHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in interruptReceived = 1 }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
}

/// True once SIGINT or SIGTERM arrived after ``installInterruptHandlers()``.
public var interrupted: Bool { interruptReceived != 0 }
