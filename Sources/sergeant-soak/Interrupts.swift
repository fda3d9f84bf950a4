import Foundation

// MARK: - Interrupts

nonisolated(unsafe) private var interruptReceived: sig_atomic_t = 0

/// SIGINT and SIGTERM end the soak early; what it started is still stopped.
func installInterruptHandlers() {
    let handler: @convention(c) (Int32) -> Void = { _ in interruptReceived = 1 }
    signal(SIGINT, handler)
    signal(SIGTERM, handler)
}

/// True once SIGINT or SIGTERM arrived.
var interrupted: Bool { interruptReceived != 0 }
