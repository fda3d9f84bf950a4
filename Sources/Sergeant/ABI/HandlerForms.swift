import SergeantCore

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

    private enum Form { case unknown, sync, async }

    /// Set by an async default handler when it runs inside a probe.
    final class Probe: @unchecked Sendable {
        var asyncDefaultReached = false
    }

    /// The probe of the async call being tried, if any.
    @TaskLocal static var probe: Probe?

    private let lock = Mutex()
    private var forms = [Form](repeating: .unknown, count: Handler.allCases.count)

    /// Runs `handler` in the form the worker overrides.
    func call(_ handler: Handler, sync: () throws -> Void, async body: @escaping @Sendable () async throws -> Void) throws {
        switch lock.withLock({ forms[handler.rawValue] }) {
        case .sync:
            try sync()
        case .async:
            try BlockingCalls.wait(for: body)
        case .unknown:
            let state = TaskThreadState.current
            state.syncDefaultReached = false
            try sync()
            guard state.syncDefaultReached else {
                remember(handler, .sync)
                return
            }
            let probe = Probe()
            try BlockingCalls.wait { try await HandlerForms.$probe.withValue(probe) { try await body() } }
            remember(handler, probe.asyncDefaultReached ? .sync : .async)
        }
    }

    private func remember(_ handler: Handler, _ form: Form) {
        lock.withLock { forms[handler.rawValue] = form }
    }
}
