import SergeantCore
import Synchronization

// MARK: - HandlerForms

/// Which form of each handler a worker class overrides, the synchronous or the async one,
/// found on the first call and remembered per instance: the first call runs the sync form;
/// if that is the default (it does nothing but say so), the async form runs on Swift
/// concurrency while the host's thread waits, and the answer is kept. A class that
/// overrides neither costs one such probe per handler per process.
final class HandlerForms: @unchecked Sendable {
    /// The handlers of the worker table.
    enum Handler: Int, CaseIterable {
        case initialize, finalize, preWork, postWork, onSuccess, onFailure, onTimeout, onRetry, onMaxRetries, onRequeue
        case onStarvation, onStop
    }

    /// Two bits per handler: 0 unknown, 1 sync, 2 async.
    private enum Form: UInt32 { case unknown = 0, sync = 1, async = 2 }

    /// Set by an async default handler when it runs inside a probe.
    final class Probe: @unchecked Sendable {
        var asyncDefaultReached = false
    }

    /// The probe of the async call being tried, if any.
    @TaskLocal static var probe: Probe?

    /// The forms found so far, read without a lock on every call (three per task).
    private let forms = Atomic<UInt32>(0)

    /// Runs `handler` in the form the worker overrides. `async` makes the async call; it is
    /// called only when that form runs, so the synchronous path allocates nothing.
    func call(_ handler: Handler, sync: () throws -> Void,
              async makeBody: () -> @Sendable () async throws -> Void) throws {
        let form = Form(rawValue: forms.load(ordering: .relaxed) >> (2 * UInt32(handler.rawValue)) & 3) ?? .unknown
        switch form {
        case .sync:
            try sync()
        case .async:
            try BlockingCalls.wait(for: makeBody())
        case .unknown:
            let state = TaskThreadState.current
            state.syncDefaultReached = false
            try sync()
            guard state.syncDefaultReached else {
                remember(handler, .sync)
                return
            }
            let probe = Probe()
            let body = makeBody()
            try BlockingCalls.wait { try await HandlerForms.$probe.withValue(probe) { try await body() } }
            remember(handler, probe.asyncDefaultReached ? .sync : .async)
        }
    }

    private func remember(_ handler: Handler, _ form: Form) {
        let shift = 2 * UInt32(handler.rawValue)
        var current = forms.load(ordering: .relaxed)
        while true {
            let updated = current & ~(3 << shift) | form.rawValue << shift
            let (exchanged, original) = forms.compareExchange(expected: current, desired: updated, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}
